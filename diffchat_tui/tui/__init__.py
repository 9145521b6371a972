"""The Textual app: screens/ and widgets/ one per file; MainScreen keeps widgets and workers, store/live.py the session."""
