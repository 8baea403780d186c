"""insurtrack: follow every insurance customer from first contact to the last claim."""

__version__ = "0.1.0"
