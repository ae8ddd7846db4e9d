"""History in SQLite: runs, every step's scalars, and tensor snapshots thinned out with age."""
