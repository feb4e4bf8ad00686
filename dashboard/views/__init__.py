"""One module per dashboard page; each exposes ``render()``.

Not named ``pages/``: Streamlit would treat a folder of that name as its own multipage app.
"""
