"""Shell completion: click's own (`_RECONCILER_COMPLETE=bash_source reconciler`), plus resource addresses
completed from the recorded state for ADDR arguments and `--target`.

Addresses hold a `:` (`bs-main:campaign/summer`), which bash splits words at (COMP_WORDBREAKS), so
click's bash script would see `bs-main`, `:` and `campaign/...` as three arguments. Our bash script
also passes the line itself (COMP_LINE, COMP_POINT): the arguments are read from it, and each
candidate is cut to the part bash replaces, the current bash word.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable

import click
from click.shell_completion import BashComplete, CompletionItem, add_completion_class, split_arg_string

from reconciler.project import Project

_SOURCE_BASH = """\
%(complete_func)s() {
    local IFS=$'\\n'
    local response

    response=$(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD COMP_LINE="$COMP_LINE" \
COMP_POINT=$COMP_POINT %(complete_var)s=bash_complete $1)

    for completion in $response; do
        IFS=',' read type value <<< "$completion"

        if [[ $type == 'dir' ]]; then
            COMPREPLY=()
            compopt -o dirnames
        elif [[ $type == 'file' ]]; then
            COMPREPLY=()
            compopt -o default
        elif [[ $type == 'plain' ]]; then
            COMPREPLY+=("$value")
        fi
    done

    return 0
}

%(complete_func)s_setup() {
    complete -o nosort -F %(complete_func)s %(prog_name)s
}

%(complete_func)s_setup;
"""


@add_completion_class
class _Bash(BashComplete):
    """click's bash completion, reading the arguments from the line so that `:` and `=` split nothing."""

    name = "bash"
    source_template = _SOURCE_BASH
    _bash_word: str | None = None  # the word bash replaces; None: click's own script, which knows no line

    def get_completion_args(self) -> tuple[list[str], str]:
        line = os.environ.get("COMP_LINE")
        if line is None:
            return super().get_completion_args()
        before = line[: int(os.environ.get("COMP_POINT", len(line)))]
        words = split_arg_string(before)
        if not words or before[-1:].isspace():
            words.append("")
        bash_words = split_arg_string(os.environ.get("COMP_WORDS", ""))
        cword = int(os.environ.get("COMP_CWORD", "0"))
        self._bash_word = bash_words[cword] if 0 <= cword < len(bash_words) else ""
        return words[1:-1], words[-1]

    def get_completions(self, args: list[str], incomplete: str) -> list[CompletionItem]:
        items = super().get_completions(args, incomplete)
        word = self._bash_word
        cut = len(incomplete) - len(word or "")  # characters of the typed token before bash's word
        if word is None or cut <= 0 or not incomplete.endswith(word):
            return items
        # click completes `--target=bs-main:ca` as `bs-main:camp...`; bash replaces only `ca`.
        option, equals, _ = incomplete.partition("=")
        before_value = option + equals if incomplete.startswith("-") and equals else ""
        for item in items:
            token = before_value + str(item.value)
            if item.type == "plain" and token.startswith(incomplete[:cut]):
                item.value = token[cut:]
        return items


ProjectOf = Callable[[click.Context, bool], Project]


def address_completer(
    project_of: ProjectOf,
) -> Callable[[click.Context, click.Parameter, str], list[CompletionItem]]:
    """A `shell_complete` callback: the recorded addresses starting with what was typed.

    `project_of(ctx, sandbox)` is the project the command line names (-C, --workspace, --state-url);
    `--sandbox` (of the command, or of `state`) completes from the sandbox state. A completion must
    never print an error into the user's line: whatever goes wrong, it offers nothing.
    """

    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        try:
            with contextlib.redirect_stderr(io.StringIO()):  # a store's warning is no candidate either
                sandbox = any(c.params.get("use_sandbox") for c in _lineage(ctx))
                recorded = project_of(ctx, sandbox).store.read()
        except Exception:
            return []
        return [CompletionItem(address) for address in sorted(recorded.resources) if address.startswith(incomplete)]

    return complete


def _lineage(ctx: click.Context | None) -> list[click.Context]:
    contexts = []
    while ctx is not None:
        contexts.append(ctx)
        ctx = ctx.parent
    return contexts
