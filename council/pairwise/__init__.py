"""Pairwise jury: pair planning, position consistency, Bradley–Terry leaderboards and judge biases (pure)."""
