"""plots.draw_graph: one arrow per use, columns in topological order, no crossing in a tree, clear errors."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch  # noqa: E402

from course_lib import plots  # noqa: E402


class Node:
    """The attributes draw_graph reads (lesson 03's Value has the same ones); test-only."""

    def __init__(self, data, parents=(), op="", label=""):
        self.data, self.grad, self._parents, self._op, self.label = float(data), 0.0, tuple(parents), op, label

    def __add__(self, other):
        return Node(self.data + other.data, (self, other), "+")

    def __mul__(self, other):
        return Node(self.data * other.data, (self, other), "×")


def neuron():
    x1, x2, w1, w2, b = (Node(v, label=n) for v, n in [(2, "x1"), (-1, "x2"), (-0.5, "w1"), (0.75, "w2"), (1.5, "b")])
    return x1 * w1 + x2 * w2 + b


def drawn(root):
    """-> (figure, [(first line of the box, (column, height)) per box], [arrow patches])"""
    fig = plots.draw_graph(root)
    ax = fig.axes[0]
    fig.canvas.draw()
    boxes = [(t.get_text().split("\n")[0], t.get_position()) for t in ax.texts]
    arrows = [p for p in ax.patches if isinstance(p, FancyArrowPatch)]
    return fig, boxes, arrows


def arrow_ends(arrow):
    verts = arrow.get_path().vertices                        # data coordinates
    return verts[0], verts[-1]


def all_nodes(root):
    seen, stack = {}, [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen[id(v)] = v
            stack.extend(v._parents)
    return list(seen.values())


def test_one_arrow_per_use_and_every_arrow_goes_left_to_right():
    root = neuron()
    fig, boxes, arrows = drawn(root)
    n_edges = sum(len(v._parents) for v in all_nodes(root))
    assert len(arrows) == n_edges == 8
    assert len(boxes) == len(all_nodes(root)) == 9
    for a in arrows:
        (x0, _), (x1, _) = arrow_ends(a)
        assert x1 > x0 + 0.3, "an arrow must go from a parent's column to a later column"
    plt.close(fig)


def test_columns_are_the_longest_path_from_an_input():
    root = neuron()
    fig, boxes, _ = drawn(root)
    col = {head: pos[0] for head, pos in boxes if head.startswith("input")}
    assert [col[f"input {n}"] for n in ("x1", "w1", "x2", "w2", "b")] == [0] * 5
    assert sorted(pos[0] for head, pos in boxes if head == "×") == [1, 1]
    assert sorted(pos[0] for head, pos in boxes if head == "+") == [2, 3]    # b + (x1 w1 + x2 w2) comes last
    plt.close(fig)


def test_no_two_arrows_between_neighbouring_columns_cross_in_a_tree():
    """The products x1*w1 and x2*w2 sit in the vertical order of their inputs (the old sort inverted it)."""
    fig, _, arrows = drawn(neuron())
    segs = [arrow_ends(a) for a in arrows]
    segs = [(p, q) for p, q in segs if round(q[0] - p[0]) == 1]     # neighbouring columns only
    assert len(segs) >= 6
    for i, (p1, q1) in enumerate(segs):
        for p2, q2 in segs[i + 1:]:
            if round(p1[0]) == round(p2[0]) and not np.allclose(p1, p2) and not np.allclose(q1, q2):
                assert (p1[1] - p2[1]) * (q1[1] - q2[1]) >= 0, "two arrows cross"
    plt.close(fig)


def test_a_parent_used_twice_gets_two_distinct_arrows():
    a = Node(3.0, label="a")
    fig, boxes, arrows = drawn(a + a)
    assert len(arrows) == 2 and len(boxes) == 2
    p0, p1 = (a_.get_path().vertices for a_ in arrows)
    assert p0.shape != p1.shape or np.abs(p0 - p1).max() > 0.05, "the two uses are drawn on top of each other"
    plt.close(fig)


def test_draws_into_a_given_axes():
    fig, ax = plt.subplots()
    assert plots.draw_graph(neuron(), ax=ax, title="t") is fig and ax.get_title() == "t"
    plt.close(fig)


@pytest.mark.parametrize("call, message", [
    (lambda: plots.draw_graph(3.0), r"root must be a scalar-autograd node .* float has no"),
    (lambda: plots.draw_graph(Node(1.0, (Node(1.0), object()), "+")), r"a node of root's graph must be .* object has no"),
    (lambda: plots.draw_graph(neuron(), ax="left"), r"ax must be a matplotlib Axes or None, got str"),
    (lambda: plots.draw_graph(neuron(), title=3), r"title must be a str or None, got int"),
])
def test_bad_input_names_the_argument(call, message):
    with pytest.raises(TypeError, match=message):
        call()
    plt.close("all")
