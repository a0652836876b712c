"""GitHub integration: the sticky plan comment on pull requests and workflow annotations."""
