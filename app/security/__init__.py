"""Safe by default: who may talk to the server (token), from which pages (Origin, Host), how much."""
