"""The Tkinter window: its widgets, its worker thread and its recordings."""
