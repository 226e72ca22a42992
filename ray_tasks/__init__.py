"""Everything that touches Ray lives here: cluster connection, remote functions, the executor."""
