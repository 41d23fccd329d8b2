"""The command line: a thin typed shell over the library, with one error boundary."""
