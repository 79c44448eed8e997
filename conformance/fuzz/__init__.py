"""Property-based values fuzzing: schema-valid values must render and stay conformant, invalid ones must be
rejected, and renders must be deterministic. Failing examples are shrunk and written as replay files."""
