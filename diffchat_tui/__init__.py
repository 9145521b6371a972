"""diffchat: chat with a text-to-image model from the terminal."""

__version__ = "0.1.0"
