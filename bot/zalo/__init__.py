"""The Zalo channel (Zalo Bot Platform): the citizen's conversation by typing, officials' groups, transports."""
