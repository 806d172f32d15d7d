"""The views the listeners open and read back: the rating modal, the 👎 follow-up and its
modal, and what the modals share."""
