"""Statistics core: agreement, bias and bootstrap over tidy rating frames (pure functions)."""
