"""HTTP and websocket routes: thin handlers over the run manager, the hub and the history."""
