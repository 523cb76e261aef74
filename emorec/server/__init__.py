"""`main.py serve`: the FastAPI app, its video jobs and its pool of recognizers."""
