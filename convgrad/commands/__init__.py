"""What each command does once its options are parsed: read, compute, write. cli.py only declares."""
