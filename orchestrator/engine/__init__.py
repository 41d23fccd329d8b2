"""Planning and (later) running: pure decisions here, I/O at the edges."""
