"""The stream: the wire format of frames, and the hub that fans them out to browsers."""
