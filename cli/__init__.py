"""cnncalc: the command line face of minigrad's layer arithmetic."""
