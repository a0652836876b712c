"""GitHub integration: the sticky plan comment on pull requests (with the plan's digest), the digest
reviewed on a merged pull request, the apply-result comment, and workflow annotations."""
