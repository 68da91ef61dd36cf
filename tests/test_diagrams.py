"""lib.diagrams: each figure draws headless, says what it should, fits its labels, rejects bad input,
and draws the equations lib computes."""

from __future__ import annotations

import itertools

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch
from matplotlib.text import Text

import lib
from lib import diagrams

matplotlib.use("Agg")

DRAWINGS = {
    "unrolled": lambda: lib.draw_unrolled_rnn(),
    "unrolled_lstm_losses": lambda: lib.draw_unrolled_rnn(lib.LSTM(3, 8), steps=6, losses=True,
                                                          readout=lib.Dense(8, 2)),
    "io": lambda: lib.draw_io_patterns(),
    "lstm": lambda: lib.draw_lstm_cell(lib.LSTMCell(3, 5)),
    "gru_pytorch": lambda: lib.draw_gru_cell(lib.GRU(4, 6)),
    "gru_cho": lambda: lib.draw_gru_cell(convention="cho"),
    "gru_chung": lambda: lib.draw_gru_cell(convention="chung", equations=False),
    "seq2seq": lambda: lib.draw_seq2seq(["3", "7", "2"], ["2", "7", "3"], weights=np.eye(3)[::-1]),
    "seq2seq_bottleneck": lambda: lib.draw_seq2seq(attention=False),
}


def texts(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def signature(fig: Figure) -> list:
    """Everything a drawing places: its size, every label and where, every shape's outline."""
    ax = fig.axes[0]
    return [tuple(fig.get_size_inches()), ax.get_xlim(), ax.get_ylim(),
            [(t.get_text(), t.get_position(), t.get_fontsize(), t.get_color()) for t in ax.texts],
            [(type(p).__name__, p.get_path().vertices.round(9).tolist(), p.get_facecolor(), p.get_linewidth())
             for p in ax.patches]]


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    """The drawings make standalone Figures: nothing is left open in pyplot."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    yield
    assert plt.get_fignums() == before
    plt.close("all")


def test_a_standalone_drawing_shows_itself_in_jupyter():
    """Before pyplot's inline backend is active IPython finds no Figure printer: _repr_png_ draws it."""
    data = lib.draw_io_patterns()._repr_png_()
    assert data.startswith(b"\x89PNG")


@pytest.mark.parametrize("name", DRAWINGS)
def test_draws_headless_deterministically_and_within_the_figure(name):
    fig = DRAWINGS[name]()
    assert isinstance(fig, Figure)
    assert fig.get_size_inches()[0] == pytest.approx(9.0)  # the book's width
    assert signature(fig) == signature(DRAWINGS[name]()), "the same call must draw the same picture"
    # every label is inside the figure and no two labels overlap (measured as drawn at the figure's dpi)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(Text) if t.get_text()]
    for text, box in boxes:
        assert box.x0 >= -1 and box.y0 >= -1 and box.x1 <= fig.bbox.x1 + 1 and box.y1 <= fig.bbox.y1 + 1, text
    for (t1, b1), (t2, b2) in itertools.combinations(boxes, 2):
        overlap_x = min(b1.x1, b2.x1) - max(b1.x0, b2.x0)
        overlap_y = min(b1.y1, b2.y1) - max(b1.y0, b2.y0)
        assert overlap_x <= 1 or overlap_y <= 1, f"{t1!r} overlaps {t2!r}"


def test_draws_into_a_given_axes_and_shrinks_to_fit_it():
    fig = Figure(figsize=(9, 5))
    FigureCanvasAgg(fig)
    ax_left, ax_right = fig.subplots(1, 2)
    assert lib.draw_lstm_cell(ax=ax_left) is fig
    assert lib.draw_gru_cell(ax=ax_right, convention="chung") is fig
    labels = texts(fig)
    assert "forget" in labels and "reset" in labels
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in (ax_left, ax_right):
        inside = ax.get_window_extent(renderer).expanded(1.01, 1.01)
        for t in ax.texts:
            assert inside.contains(*t.get_window_extent(renderer).min), t.get_text()
            assert inside.contains(*t.get_window_extent(renderer).max), t.get_text()
    sigma = next(t for t in ax_left.texts if t.get_text() == r"$\sigma$")
    assert sigma.get_fontsize() < 13 * 0.6, "a half-width panel shrinks the drawing's text with it"
    with pytest.raises(TypeError, match="Axes"):
        lib.draw_lstm_cell(ax="not an axes")


# ----------------------------------------------------------------------------------------------
# the unrolled RNN
# ----------------------------------------------------------------------------------------------
def test_unrolled_rnn_shares_the_weights_on_every_step():
    steps = 4
    labels = texts(lib.draw_unrolled_rnn(steps=steps))
    # every unrolled step and the rolled cell carry the same three weight labels
    assert labels.count(r"$W_{ih}$") == steps + 1
    assert labels.count(r"$W_{hy}$") == steps + 1
    assert labels.count(r"$W_{hh}$") == steps + 1  # rolled loop, h_0 -> h_1, and steps - 1 links
    for t in ["t", *range(1, steps + 1)]:
        assert rf"$\mathbf{{x}}_{{{t}}}$" in labels and rf"$\hat{{\mathbf{{y}}}}_{{{t}}}$" in labels
    assert r"$\mathbf{h}_0$" in labels
    assert not any(label.startswith("$L_") for label in labels)
    assert any(r"\tanh(W_{ih}\mathbf{x}_t" in label for label in labels)


def test_unrolled_rnn_labels_sizes_from_lib_objects_and_draws_losses():
    labels = texts(lib.draw_unrolled_rnn(lib.RNN(2, 16, nonlinearity="relu"), steps=3, losses=True,
                                         readout=lib.Dense(16, 5)))
    sizes = next(label for label in labels if label.startswith("lib.RNN(2, 16)"))
    assert "weight_ih_l0 (16, 2)" in sizes and "weight_hh_l0 (16, 16)" in sizes
    assert r"\mathbb{R}^{5}" in sizes and "(5, 16)" in sizes
    assert [f"$L_{{{t}}}$" in labels for t in (1, 2, 3)] == [True] * 3
    assert any("L = L_1 + L_2 + L_3" in label for label in labels)
    assert any(r"\mathrm{ReLU}" in label for label in labels)
    cell = texts(lib.draw_unrolled_rnn(lib.GRUCell(3, 4)))
    assert any("lib.GRUCell(3, 4)" in label and "weight_ih (12, 3)" in label for label in cell)


def test_unrolled_lstm_carries_c_without_weights():
    labels = texts(lib.draw_unrolled_rnn(lib.LSTM(3, 8), steps=3))
    assert r"$\mathbf{c}_0$" in labels and r"$\mathbf{h}_0$" in labels
    assert labels.count(r"$W_{hh}$") == 3 + 1  # on the h lane only


@pytest.mark.parametrize("kwargs, error, match", [
    ({"steps": 1}, ValueError, "between 2 and 6"),
    ({"steps": 7}, ValueError, "between 2 and 6"),
    ({"steps": 3.0}, TypeError, "steps must be an int"),
    ({"steps": True}, TypeError, "steps must be an int"),
    ({"losses": "yes"}, TypeError, "losses must be True or False"),
    ({"layer": lib.Dense(2, 3)}, TypeError, "lib.RNN"),
    ({"layer": lib.RNN(2, 3, num_layers=2)}, ValueError, "one layer in one direction"),
    ({"layer": lib.GRU(2, 3, bidirectional=True)}, ValueError, "one layer in one direction"),
    ({"layer": lib.RNN(2, 3), "readout": lib.Dense(4, 1)}, ValueError, "hidden size is 3"),
    ({"readout": lib.RNN(2, 3)}, TypeError, "readout must be a lib.Dense"),
])
def test_unrolled_rnn_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        lib.draw_unrolled_rnn(**kwargs)


# ----------------------------------------------------------------------------------------------
# input/output patterns
# ----------------------------------------------------------------------------------------------
def test_io_patterns_draws_every_pattern_with_its_example():
    labels = texts(lib.draw_io_patterns())
    joined = " ".join(label.replace("\n", " ") for label in labels)
    for title, meaning in diagrams.IO_PATTERNS.values():
        assert title in labels and meaning in joined
    for chapter in ("(Feedforward networks)", "(NLP)", "(Speech)", "(Bidirectional RNNs)", "(Attention)"):
        assert chapter in joined


def test_io_patterns_takes_examples_and_a_subset():
    fig = lib.draw_io_patterns({"many_to_one": "a week of prices → tomorrow's"},
                               patterns=["many_to_one", "one_to_one"])
    labels = texts(fig)
    assert "many-to-one" in labels and "one-to-one" in labels and "encoder–decoder" not in labels
    assert any("a week of prices" in label for label in labels)
    assert any("Feedforward" in label for label in labels)  # defaults kept for the others


@pytest.mark.parametrize("args, kwargs, error, match", [
    (({"two_to_three": "x"},), {}, ValueError, "unknown pattern"),
    (({"one_to_one": 3},), {}, TypeError, "must be a str"),
    ((["one_to_one"],), {}, TypeError, "mapping"),
    ((), {"patterns": "one_to_one"}, TypeError, "sequence of pattern names"),
    ((), {"patterns": ["one_to_one", "one_to_one"]}, ValueError, "distinct"),
    ((), {"patterns": []}, ValueError, "distinct"),
    ((), {"patterns": ["many_to_many_aligned"]}, ValueError, "distinct names"),
])
def test_io_patterns_rejects_bad_arguments(args, kwargs, error, match):
    with pytest.raises(error, match=match):
        lib.draw_io_patterns(*args, **kwargs)


# ----------------------------------------------------------------------------------------------
# the LSTM cell
# ----------------------------------------------------------------------------------------------
def test_lstm_cell_names_every_gate_and_equation():
    labels = texts(lib.draw_lstm_cell())
    for name in ("forget", "input", "candidate", "output"):
        assert name in labels
    assert labels.count(r"$\sigma$") == 3 and r"$\tanh$" in labels
    for gate in "ifgo":
        assert rf"$\mathbf{{{gate}}}_t$" in labels
    equations = [label for label in labels if label.startswith(r"$\mathbf{") and " = " in label]
    assert len(equations) == 6
    assert (r"$\mathbf{f}_t = \sigma(W_{if}\mathbf{x}_t + \mathbf{b}_{if} + W_{hf}\mathbf{h}_{t-1} + "
            r"\mathbf{b}_{hf})$") in equations
    assert (r"$\mathbf{g}_t = \tanh(W_{ig}\mathbf{x}_t + \mathbf{b}_{ig} + W_{hg}\mathbf{h}_{t-1} + "
            r"\mathbf{b}_{hg})$") in equations
    assert r"$\mathbf{c}_t = \mathbf{f}_t \odot \mathbf{c}_{t-1} + \mathbf{i}_t \odot \mathbf{g}_t$" in equations
    assert r"$\mathbf{h}_t = \mathbf{o}_t \odot \tanh(\mathbf{c}_t)$" in equations
    assert not any(" = " in label for label in texts(lib.draw_lstm_cell(equations=False)))


def test_lstm_cell_equations_are_what_lib_computes():
    """The drawn c_t and h_t equations, evaluated with lib's own gates, give lib's output."""
    rng = np.random.default_rng(0)
    cell = lib.LSTMCell(3, 4, rng=rng)
    x, h, c = rng.normal(size=(2, 3)), rng.normal(size=(2, 4)), rng.normal(size=(2, 4))
    h_lib, c_lib = cell.forward(x, (h, c))
    p = cell.params
    a = x @ p["weight_ih"].T + p["bias_ih"] + h @ p["weight_hh"].T + p["bias_hh"]
    i, f, g, o = np.split(a, 4, axis=1)  # rows stacked i, f, g, o, as the figure's sizes line says
    i, f, g, o = 1 / (1 + np.exp(-i)), 1 / (1 + np.exp(-f)), np.tanh(g), 1 / (1 + np.exp(-o))
    np.testing.assert_allclose(c_lib, f * c + i * g, atol=1e-12)
    np.testing.assert_allclose(h_lib, o * np.tanh(f * c + i * g), atol=1e-12)
    labels = texts(lib.draw_lstm_cell(cell))
    assert any("weight_ih (16, 3)" in label and "i, f, g, o" in label for label in labels)
    stacked = texts(lib.draw_lstm_cell(lib.LSTM(3, 4, num_layers=2)))
    assert any("num_layers=2), its first layer" in label for label in stacked)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"layer": lib.GRUCell(2, 3)}, TypeError, "lib.LSTM"),
    ({"equations": 1}, TypeError, "equations must be True or False"),
])
def test_lstm_cell_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        lib.draw_lstm_cell(**kwargs)


# ----------------------------------------------------------------------------------------------
# the GRU cell
# ----------------------------------------------------------------------------------------------
UPDATE = {
    "pytorch": r"$\mathbf{h}_t = (1 - \mathbf{z}_t) \odot \mathbf{n}_t + \mathbf{z}_t \odot \mathbf{h}_{t-1}$",
    "cho": r"$\mathbf{h}_t = \mathbf{z}_t \odot \mathbf{h}_{t-1} + (1 - \mathbf{z}_t) \odot \tilde{\mathbf{h}}_t$",
    "chung": r"$\mathbf{h}_t = (1 - \mathbf{z}_t) \odot \mathbf{h}_{t-1} + \mathbf{z}_t \odot \tilde{\mathbf{h}}_t$",
}
RESET_AFTER = r"\mathbf{r}_t \odot (W_{hn}\mathbf{h}_{t-1} + \mathbf{b}_{hn})"
RESET_BEFORE = r"W_{hn}(\mathbf{r}_t \odot \mathbf{h}_{t-1})"


@pytest.mark.parametrize("convention, title, reset", [
    ("pytorch", "PyTorch convention", RESET_AFTER),
    ("cho", "Cho et al. (2014)", RESET_BEFORE),
    ("chung", "Chung et al. (2014)", RESET_BEFORE),
])
def test_gru_cell_draws_and_names_its_convention(convention, title, reset):
    labels = texts(lib.draw_gru_cell(convention=convention))
    assert any(label.startswith("GRU cell") and title in label for label in labels)
    assert UPDATE[convention] in labels
    assert any(reset in label for label in labels)
    for name in ("reset", "update", "candidate"):
        assert name in labels
    flipped = texts(lib.draw_gru_cell(convention=convention, reset_after=reset == RESET_BEFORE))
    assert not any(reset in label for label in flipped)
    assert UPDATE[convention] in flipped
    placement = "before" if reset == RESET_AFTER else "after"
    assert any(label.startswith("GRU cell") and f"reset gate {placement} the matrix product" in label
               and title not in label for label in flipped), "the title must not name a convention not drawn"


def test_gru_cell_puts_one_minus_on_the_branch_its_equation_says():
    """z_t → the keep-× on the state path in PyTorch's convention; 1 − z_t there in Chung's."""
    def one_minus_position(convention):
        fig = lib.draw_gru_cell(convention=convention)
        (text,) = [t for t in fig.findobj(Text) if t.get_text() == "$1-$"]
        (update,) = [t for t in fig.findobj(Text) if t.get_text() == "update"]
        return np.subtract(text.get_position(), update.get_position())

    dx_torch, _ = one_minus_position("pytorch")
    dx_chung, _ = one_minus_position("chung")
    assert dx_torch > 1.0, "PyTorch: 1 − z_t goes right, to the candidate's product"
    assert dx_chung == pytest.approx(0.0), "Chung: 1 − z_t goes up, to the product with h_{t−1}"


@pytest.mark.parametrize("convention", ["pytorch", "cho", "chung"])
@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_cell_feeds_h_prev_itself_to_the_reset_branch(convention, reset_after):
    """The wire into W_hn·h_{t−1} (reset after) or r_t ⊙ h_{t−1} (reset before) carries h_{t−1}: no wire may leave
    the state path between its product with the update gate and the sum (that would carry z_t ⊙ h_{t−1})."""
    fig = lib.draw_gru_cell(convention=convention, reset_after=reset_after)
    texts_at = {t.get_text(): t.get_position() for t in fig.findobj(Text) if t.get_text() in (r"$+$",)}
    x_keep, y_top = max((t.get_position() for t in fig.findobj(Text) if t.get_text() == r"$\times$"),
                        key=lambda p: p[1])
    x_sum = texts_at[r"$+$"][0]
    starts = [p.get_path().vertices[0] for p in fig.findobj(FancyArrowPatch)]
    on_path = [x for x, y in starts if abs(y - y_top) < 1e-9 and x_keep + 0.5 < x < x_sum]
    assert not on_path, f"a wire leaves the state path at x={on_path}, after the z_t product at x={x_keep}"
    taps = [(x, y) for x, y in starts if x < x_keep and y_top - 1.5 < y < y_top]
    assert taps, "the reset branch should leave the h_{t-1} wire left of the z_t product"


def test_gru_cell_equations_are_what_lib_computes():
    rng = np.random.default_rng(1)
    cell = lib.GRUCell(3, 4, rng=rng)
    x, h = rng.normal(size=(2, 3)), rng.normal(size=(2, 4))
    p = cell.params
    gx, gh = x @ p["weight_ih"].T + p["bias_ih"], h @ p["weight_hh"].T + p["bias_hh"]
    (xr, xz, xn), (hr, hz, hn) = np.split(gx, 3, axis=1), np.split(gh, 3, axis=1)
    r, z = 1 / (1 + np.exp(-(xr + hr))), 1 / (1 + np.exp(-(xz + hz)))
    n = np.tanh(xn + r * hn)  # reset after the matrix product, b_hn inside
    np.testing.assert_allclose(cell.forward(x, h), (1 - z) * n + z * h, atol=1e-12)  # UPDATE["pytorch"]
    labels = texts(lib.draw_gru_cell(cell))
    assert any("lib.GRUCell(3, 4)" in label and "weight_hh (12, 4)" in label for label in labels)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"convention": "keras2"}, ValueError, "convention must be one of"),
    ({"convention": None}, TypeError, "convention must be a str"),
    ({"reset_after": "yes"}, TypeError, "reset_after must be True or False"),
    ({"layer": lib.LSTMCell(2, 3)}, TypeError, "lib.GRU"),
    ({"layer": lib.GRU(2, 3), "convention": "chung"}, ValueError, "PyTorch convention"),
    ({"layer": lib.GRUCell(2, 3), "reset_after": False}, ValueError, "PyTorch convention"),
])
def test_gru_cell_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        lib.draw_gru_cell(**kwargs)


# ----------------------------------------------------------------------------------------------
# encoder–decoder
# ----------------------------------------------------------------------------------------------
def test_seq2seq_draws_attention_from_a_lib_model():
    model = lib.Seq2Seq(10, 10, 8, 16, rng=np.random.default_rng(0))
    src = np.array([[3, 7, 2, 5]])
    tokens, attention = model.greedy_decode(src, 3, bos=1)
    fig = lib.draw_seq2seq([str(t) for t in src[0]], [str(t) for t in tokens[0]], weights=attention[0],
                           model=model, step=2)
    labels = texts(fig)
    weights = [float(label.split("=")[1].strip(" $")) for label in labels if label.startswith(r"$\alpha_{2")]
    np.testing.assert_allclose(weights, attention[0, 1], atol=0.005)
    assert r"$\mathbf{c}_{2}$" in labels and any(r"W_q\mathbf{s}_{1}" in label for label in labels)
    assert r"$\langle\mathrm{bos}\rangle$" in labels
    no_attention = texts(lib.draw_seq2seq(model=lib.Seq2Seq(5, 5, 4, 4, attention=False)))
    assert any(label.startswith("no attention") for label in no_attention)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"source": "abc"}, TypeError, "sequence of labels"),
    ({"source": 0}, ValueError, "1 to 8 steps"),
    ({"target": list("abcdefghi")}, ValueError, "1 to 8 steps"),
    ({"step": 4}, ValueError, "between 1 and 3"),
    ({"step": 1.0}, TypeError, "step must be an int"),
    ({"weights": np.full((3, 3), 1 / 3)}, ValueError, r"shape \(T, S\) = \(3, 4\)"),
    ({"weights": np.full(4, 0.5)}, ValueError, "sum to 1"),
    ({"weights": [1.5, -0.5, 0, 0]}, ValueError, "non-negative"),
    ({"weights": np.full(4, 0.25), "attention": False}, ValueError, "need attention=True"),
    ({"model": lib.GRU(2, 3)}, TypeError, "lib.Seq2Seq"),
])
def test_seq2seq_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        lib.draw_seq2seq(**kwargs)
