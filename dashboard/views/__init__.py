"""One module per dashboard page; each exposes ``render()`` (not named pages/: Streamlit would treat that folder as
its own multipage app)."""
