"""The storyboard language: loading with source positions, the schema, and validation before any money is spent."""
