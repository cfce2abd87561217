"""Show the computation graph behind a result: a rich tree for the terminal, or Graphviz DOT."""

from __future__ import annotations

from rich.tree import Tree

from minigrad.engine.tensor import FREED, Tensor

FREED_NOTE = "graph freed by backward(); pass retain_graph=True to keep it"


def _label(tensor: Tensor) -> str:
    shape = "×".join(map(str, tensor.shape)) or "scalar"
    name = f"{tensor.name} " if tensor.name else ""
    grad = " · [green]requires grad[/]" if tensor.requires_grad else ""
    origin = f"[bold]{tensor.op.name}[/] → " if tensor.op else ("leaf " if tensor.is_leaf else "")
    # A freed result no longer knows its op or inputs: say why its branch ends here.
    freed = f" [red]({FREED_NOTE})[/]" if tensor._op is FREED else ""
    return f"{origin}{name}{shape} {tensor.dtype}{grad}{freed}"


def tree(tensor: Tensor) -> Tree:
    """The ops and inputs that made `tensor`, output at the root; a tensor reached twice is shown
    in full once and then as "(shown above)"."""
    root = Tree(_label(tensor))
    seen = {id(tensor)}
    # depth first, in the order the lines are printed, so "above" is above (no recursion: a
    # chain of 10,000 ops is fine)
    stack = [(root, iter(tensor.op.inputs if tensor.op else ()))]
    while stack:
        branch, inputs = stack[-1]
        parent = next(inputs, None)
        if parent is None:
            stack.pop()
        elif id(parent) in seen:
            branch.add(_label(parent) + " [dim](shown above)[/]")
        else:
            seen.add(id(parent))
            stack.append((branch.add(_label(parent)), iter(parent.op.inputs if parent.op else ())))
    return root


def to_dot(tensor: Tensor) -> str:
    """Graphviz DOT text: tensors as boxes, ops as ellipses, edges in the direction data flows."""
    lines = ["digraph minigrad {", "  rankdir=LR;", "  node [fontname=Helvetica];"]
    ids: dict[int, str] = {}

    def node_id(t: Tensor) -> str:
        if id(t) not in ids:
            ids[id(t)] = f"t{len(ids)}"
            shape = "×".join(map(str, t.shape)) or "scalar"
            name = t.name.replace("\\", "\\\\").replace('"', '\\"') if t.name else None
            text = f"{name}\\n{shape}" if name else shape
            style = ', style=filled, fillcolor="#d8f0d8"' if t.requires_grad and t.is_leaf else ""
            lines.append(f'  {ids[id(t)]} [shape=box, label="{text}"{style}];')
            if t._op is FREED:
                lines.append(f'  {ids[id(t)]}_freed [shape=plaintext, label="{FREED_NOTE}"];')
                lines.append(f"  {ids[id(t)]}_freed -> {ids[id(t)]} [style=dotted];")
        return ids[id(t)]

    stack, visited = [tensor], set()
    while stack:
        t = stack.pop()
        if id(t) in visited:
            continue
        visited.add(id(t))
        out = node_id(t)
        if t.op is None:
            continue
        op_id = f"op{len(visited)}"
        lines.append(f'  {op_id} [shape=ellipse, label="{t.op.name}"];')
        lines.append(f"  {op_id} -> {out};")
        for parent in t.op.inputs:
            lines.append(f"  {node_id(parent)} -> {op_id};")
            stack.append(parent)
    lines.append("}")
    return "\n".join(lines) + "\n"


def print_graph(tensor: Tensor, console=None) -> None:
    """Print the graph tree of `tensor` to the terminal."""
    from rich.console import Console

    (console or Console()).print(tree(tensor))
