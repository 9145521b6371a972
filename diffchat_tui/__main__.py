"""`python -m diffchat_tui`, which `accelerate launch -m diffchat_tui` also uses."""

from diffchat_tui.cli import main

main()
