"""The wire: Starlette routes translating HTTP to org operations and back."""
