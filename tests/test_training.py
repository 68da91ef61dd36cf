"""The training loop: it learns, it is deterministic, it stops on NaN, it stops early."""

from __future__ import annotations

import os

import numpy as np
import pytest

import lib


def _regression(seed=0, n=200):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 3))
    y = X @ np.array([[1.0], [-2.0], [0.5]]) + 0.1 * rng.standard_normal((n, 1))
    return X, y


def _model(seed=0):
    rng = np.random.default_rng(seed)
    return lib.Sequential(lib.Dense(3, 16, rng=rng), lib.Tanh(), lib.Dense(16, 1, rng=rng))


def test_fit_learns_and_is_deterministic():
    X, y = _regression()
    runs = []
    for _ in range(2):
        model = _model()
        history = lib.fit(model, lib.mse_loss, lib.Adam(model, lr=0.01), X, y, epochs=30, batch_size=32,
                          rng=np.random.default_rng(1), validation_data=(X[:50], y[:50]))
        runs.append(history.train_loss)
    assert runs[0] == runs[1]
    assert runs[0][-1] < 0.1 * runs[0][0]
    assert len(history.val_loss) == 30


def test_divergence_stops_with_a_message():
    X, y = _regression()
    model = _model()
    with pytest.raises(lib.TrainingDiverged, match=r"loss is (nan|inf) at epoch \d+, batch \d+"):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=1e6), X, y * 1e3, epochs=20, batch_size=32,
                rng=np.random.default_rng(0))


def test_early_stopping_restores_the_best_parameters():
    X, y = _regression(n=60)
    X_val, y_val = _regression(seed=5, n=60)
    model = lib.Sequential(lib.Dense(3, 64, rng=np.random.default_rng(0)), lib.ReLU(),
                           lib.Dense(64, 1, rng=np.random.default_rng(1)))
    stopper = lib.EarlyStopping(patience=3)
    history = lib.fit(model, lib.mse_loss, lib.Adam(model, lr=0.05), X, y, epochs=300, batch_size=8,
                      rng=np.random.default_rng(0), validation_data=(X_val, y_val), early_stopping=stopper)
    assert history.stopped_early and len(history) < 300
    assert history.best_epoch == int(np.argmin(history.val_loss)) + 1
    assert lib.evaluate(model, lib.mse_loss, X_val, y_val) == pytest.approx(min(history.val_loss))


def test_metrics_and_scheduler():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 2))
    y = (X[:, 0] > 0).astype(int)
    model = lib.Sequential(lib.Dense(2, 2, rng=rng))
    opt = lib.SGD(model, lr=0.5)
    history = lib.fit(model, lib.softmax_cross_entropy, opt, X, y, epochs=5, batch_size=20, rng=rng,
                      metrics={"accuracy": lib.accuracy}, scheduler=lib.StepLR(opt, step_size=2, gamma=0.5))
    assert history.metrics["accuracy"][-1] > 0.9
    assert opt.lr == pytest.approx(0.5 * 0.5**2)


def test_minibatches_cover_everything_once():
    batches = list(lib.minibatches(10, 3, np.random.default_rng(0)))
    assert [len(b) for b in batches] == [3, 3, 3, 1]
    assert sorted(np.concatenate(batches)) == list(range(10))
    assert [list(b) for b in lib.minibatches(4, 2, shuffle=False)] == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="explicit rng"):
        list(lib.minibatches(4, 2))


def test_no_progress_bar_in_tests(capsys):
    X, y = _regression(n=20)
    model = _model()
    lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, epochs=2, batch_size=10,
            rng=np.random.default_rng(0))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_bad_input():
    model = _model()
    with pytest.raises(ValueError, match="same number of examples"):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.1), np.zeros((5, 3)), np.zeros((4, 1)),
                epochs=1, batch_size=2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="patience"):
        lib.EarlyStopping(patience=0)


def test_divergence_inside_the_network_is_reported_as_divergence():
    X, y = _regression()
    model = _model()
    model.forward(X[:1])
    model.params["0.weight"][0, 0] = np.nan  # as if an update had overflowed
    with pytest.raises(lib.TrainingDiverged):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, epochs=1, batch_size=300,
                rng=np.random.default_rng(0))


def test_nan_in_the_data_is_a_data_error():
    X, y = _regression()
    X[3, 1] = np.nan
    model = _model()
    with pytest.raises(ValueError, match="non-finite values .* in X") as info:
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, epochs=1, batch_size=10,
                rng=np.random.default_rng(0))
    assert not isinstance(info.value, lib.TrainingDiverged)


def test_minibatches_of_arrays():
    X, y = np.arange(20).reshape(10, 2), np.arange(10)
    batches = list(lib.minibatches((X, y), 4, np.random.default_rng(1)))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    for xb, yb in batches:
        np.testing.assert_array_equal(xb[:, 0] // 2, yb)  # rows stay paired
    assert sorted(np.concatenate([yb for _, yb in batches])) == list(range(10))
    rows = list(lib.minibatches(X, 6, shuffle=False))
    np.testing.assert_array_equal(rows[1], X[6:])
    with pytest.raises(ValueError, match="equal length"):
        list(lib.minibatches((X, y[:5]), 2, shuffle=False))
    with pytest.raises(TypeError, match="an int, an array or a tuple"):
        list(lib.minibatches("data", 2))
    with pytest.raises(ValueError, match="batch_size"):
        list(lib.minibatches(10, 0, shuffle=False))


def test_fit_takes_positional_arguments_and_shows_progress_only_when_asked(capsys, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("NNBOOK_NO_PROGRESS", raising=False)
    X, y = _regression(n=20)
    model = _model()
    lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, 2, 10, np.random.default_rng(0))
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""  # not a terminal: auto means quiet
    lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, 2, 10, np.random.default_rng(0), progress=True)
    assert "epochs" in capsys.readouterr().err


def test_early_stopping_on_training_loss_without_restoring():
    X, y = _regression(n=40)
    model = _model()
    stopper = lib.EarlyStopping(patience=2, min_delta=1e9, restore_best=False)  # nothing counts as better
    history = lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.01), X, y, epochs=50, batch_size=10,
                      rng=np.random.default_rng(0), early_stopping=stopper)
    assert history.stopped_early and len(history) == 3 and history.best_epoch == 1
    assert history.val_loss == []


def test_accuracy():
    assert lib.accuracy(np.array([[2.0, 1.0], [0.0, 3.0]]), np.array([0, 0])) == 0.5
    assert lib.accuracy(np.array([[1.5], [-2.0]]), np.array([1, 1])) == 0.5
    assert lib.accuracy(np.array([1.5, -2.0, 0.3]), np.array([[1], [0], [0]])) == pytest.approx(2 / 3)
    assert lib.accuracy(np.array([0.9, 0.2]), np.array([True, True]), threshold=0.5) == 0.5  # probabilities


def test_accuracy_one_hot_labels_use_the_arg_max():
    logits = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, -1.0], [-5.0, -4.0, -3.0]])  # all-negative row: arg-max 2
    one_hot = lib.one_hot(np.array([0, 2, 2]), 3)
    assert lib.accuracy(logits, one_hot) == pytest.approx(2 / 3)
    assert lib.accuracy(logits, one_hot) == lib.accuracy(logits, np.array([0, 2, 2]))
    seq_logits = np.random.default_rng(0).standard_normal((4, 5, 3))
    labels = np.random.default_rng(1).integers(0, 3, size=(4, 5))
    assert lib.accuracy(seq_logits, labels) == lib.accuracy(seq_logits, lib.one_hot(labels, 3))


def test_accuracy_refuses_what_is_ambiguous_or_wrong():
    logits = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"not one-hot \(each row exactly one 1\); for multi-label"):
        lib.accuracy(logits, np.array([[1, 1, 0], [0, 0, 1]]))
    with pytest.raises(ValueError, match="not one-hot"):
        lib.accuracy(logits, np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]))  # soft targets
    with pytest.raises(ValueError, match=r"class labels in \[0, 3\), got values in \[0, 3\]"):
        lib.accuracy(logits, np.array([0, 3]))
    with pytest.raises(ValueError, match=r"got pred \(2, 3\) and y \(3,\)"):
        lib.accuracy(logits, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="expects binary labels 0/1"):
        lib.accuracy(np.zeros(3), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="at least one example"):
        lib.accuracy(np.zeros((0, 3)), np.zeros(0, int))
    with pytest.raises(ValueError, match="finite numeric predictions, got dtype float64 with NaN or inf"):
        lib.accuracy(np.array([[np.nan, 1.0]]), np.array([0]))
    with pytest.raises(TypeError, match="integer class labels"):
        lib.accuracy(logits, np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match="accuracy expected y as a numpy array, got list"):
        lib.accuracy(logits, [0, 1])


def test_fit_rejects_non_arrays_and_global_rng():
    model = _model()
    with pytest.raises(TypeError, match="X as a numpy array"):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.1), [[0.0] * 3], np.zeros((1, 1)),
                epochs=1, batch_size=1, rng=np.random.default_rng(0))
    with pytest.raises(TypeError, match="np.random.Generator"):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.1), np.zeros((1, 3)), np.zeros((1, 1)),
                epochs=1, batch_size=1, rng=0)


def test_fit_bad_arguments_are_clear_errors():
    model = _model()
    opt = lib.SGD(model, lr=0.1)
    X, y = _regression(n=10)
    rng = np.random.default_rng(0)

    def run(**changes):
        args = dict(model=model, loss_fn=lib.mse_loss, optimizer=opt, X=X, y=y, epochs=1, batch_size=4, rng=rng)
        args.update(changes)
        return lib.fit(**args)

    with pytest.raises(ValueError, match="fit expected at least one example, got 0"):
        run(X=X[:0], y=y[:0])
    with pytest.raises(ValueError, match="fit expected epochs to be an int >= 1, got 0"):
        run(epochs=0)
    with pytest.raises(ValueError, match="fit expected batch_size to be an int >= 1, got 2.5"):
        run(batch_size=2.5)
    with pytest.raises(TypeError, match="fit expected a lib optimizer .* got str"):
        run(optimizer="adam")
    with pytest.raises(TypeError, match="fit expected a model with forward, backward, params, grads"):
        run(model=object())
    with pytest.raises(TypeError, match="fit expected loss_fn to be callable"):
        run(loss_fn="mse")
    with pytest.raises(TypeError, match=r"fit expected validation_data as a tuple \(X_val, y_val\)"):
        run(validation_data=X)
    with pytest.raises(ValueError, match="fit expected X_val and y_val with the same number of examples"):
        run(validation_data=(X, y[:3]))
    with pytest.raises(ValueError, match="fit expected at least one example"):
        run(validation_data=(X[:0], y[:0]))
    with pytest.raises(TypeError, match="fit expected early_stopping to be an EarlyStopping"):
        run(early_stopping=5)
    with pytest.raises(TypeError, match="fit expected metrics as a dict"):
        run(metrics=[lib.accuracy])
    with pytest.raises(TypeError, match="with a step\\(\\) method, got float"):
        run(scheduler=0.5)
    with pytest.raises(TypeError, match=r"fit expected loss_fn\(pred, y\) to return \(value, dpred\), got float"):
        run(loss_fn=lambda p, t: 1.0)
    with pytest.raises(ValueError, match="fit expected loss_fn's gradient shaped like the prediction"):
        run(loss_fn=lambda p, t: (1.0, np.zeros(3)))
    with pytest.raises(ValueError, match="fit expected loss_fn to return a scalar loss"):
        run(loss_fn=lambda p, t: lib.mse_loss(p, t, reduction="none"))
    with pytest.raises(TypeError, match=r"fit expected model.forward to return one array, got a tuple .*lib.LastStep"):
        gru = lib.GRU(3, 2)
        lib.fit(gru, lib.mse_loss, lib.SGD(gru, lr=0.1), X[:, None, :], y, epochs=1, batch_size=4, rng=rng)
    with pytest.raises(ValueError, match="evaluate expected batch_size to be an int >= 1, got 0"):
        lib.evaluate(model, lib.mse_loss, X, y, batch_size=0)
    with pytest.raises(lib.TrainingDiverged, match="EarlyStopping got a non-finite loss"):
        lib.EarlyStopping().update(float("nan"), 3, model)
    with pytest.raises(ValueError, match="evaluate expected at least one example"):
        lib.evaluate(model, lib.mse_loss, X[:0], y[:0])
    with pytest.raises(ValueError, match="EarlyStopping expected min_delta to be a finite number >= 0"):
        lib.EarlyStopping(min_delta=-1)
    with pytest.raises(ValueError, match="EarlyStopping expected patience >= 1"):
        lib.EarlyStopping(patience=1.5)


def test_fit_steps_a_list_of_schedulers_as_a_chain():
    X, y = _regression(n=8)
    model = _model()
    opt = lib.SGD(model, lr=1.0)
    chain = [lib.LinearWarmup(opt, warmup=4), lib.StepLR(opt, step_size=2, gamma=0.5)]
    lib.fit(model, lib.mse_loss, opt, X, y * 0, epochs=2, batch_size=8, rng=np.random.default_rng(0),
            scheduler=chain)
    assert opt.lr == pytest.approx(0.375)  # [0.25, 0.5, 0.375]: PyTorch's chained schedulers


def test_divergence_in_validation_or_gradients_is_training_diverged():
    X, y = _regression(n=20)
    model = _model()
    y_val = y.copy()
    y_val[0] = 1e300  # finite targets whose squared error overflows
    with pytest.raises(lib.TrainingDiverged, match="validation loss is inf at epoch 1"):
        lib.fit(model, lib.mse_loss, lib.SGD(model, lr=0.0), X, y, epochs=1, batch_size=10,
                rng=np.random.default_rng(0), validation_data=(X, y_val))

    class BadGradient(lib.Dense):
        def backward(self, dout):
            dx = super().backward(dout)
            self.grads["weight"][0, 0] = np.inf
            return dx

    bad = BadGradient(3, 1)
    with pytest.raises(lib.TrainingDiverged, match="the gradient of 'weight' holds NaN or inf"):
        lib.fit(bad, lib.mse_loss, lib.SGD(bad, lr=0.1), X, y, epochs=1, batch_size=10,
                rng=np.random.default_rng(0))


def test_progress_detection(monkeypatch):
    """Bars for a person (terminal, or a kernel a Jupyter front end started); none in CI, the book build,
    the tests (NNBOOK_NO_PROGRESS) or a kernel started headless."""
    from lib import training

    class Kernel:
        kernel = object()

        def __init__(self, user_ns=None):
            self.user_ns = user_ns or {}

    class FakeIPython:
        shell = None

        @classmethod
        def get_ipython(cls):
            return cls.shell

    for var in ("CI", "NNBOOK_NO_PROGRESS", "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setitem(__import__("sys").modules, "IPython", FakeIPython)
    monkeypatch.setattr(training, "_isatty", lambda stream: False)
    assert not training._interactive()                 # plain script, output redirected
    FakeIPython.shell = Kernel()
    assert not training._interactive()                 # a kernel nbclient started (book build, nbval)
    monkeypatch.setenv("JPY_SESSION_NAME", "chapters/x.ipynb")
    assert training._interactive()                     # JupyterLab / Notebook
    monkeypatch.setenv("NNBOOK_NO_PROGRESS", "1")
    assert not training._interactive()                 # make book, make test
    monkeypatch.delenv("NNBOOK_NO_PROGRESS")
    monkeypatch.delenv("JPY_SESSION_NAME")
    FakeIPython.shell = Kernel({"__vsc_ipynb_file__": "x.ipynb"})
    assert training._interactive()                     # VS Code
    FakeIPython.shell = None
    monkeypatch.setattr(training, "_isatty", lambda stream: True)
    assert training._interactive()                     # a terminal
    monkeypatch.setenv("CI", "true")
    assert not training._interactive()


@pytest.mark.parametrize("session", [None, "chapters/demo.ipynb"])
def test_progress_bar_in_a_real_kernel(session, monkeypatch, tmp_path):
    """A kernel started headless (as nbval and the book build start them) shows no bar even without
    NNBOOK_NO_PROGRESS; the same kernel started the way a Jupyter server starts it does."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    import pathlib

    for var in ("CI", "NNBOOK_NO_PROGRESS", "JPY_SESSION_NAME"):
        monkeypatch.delenv(var, raising=False)
    if session:
        monkeypatch.setenv("JPY_SESSION_NAME", session)
    root = str(pathlib.Path(lib.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import numpy as np, lib\n"
        "m = lib.Dense(2, 1)\n"
        "h = lib.fit(m, lib.mse_loss, lib.SGD(m, lr=0.1), np.zeros((4, 2)), np.zeros((4, 1)), epochs=3,\n"
        "            batch_size=2, rng=np.random.default_rng(0))\n"
        "print('trained', len(h))")]
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    outputs = nb.cells[0].outputs
    text = " ".join(str(o.get("text", "")) + str(o.get("data", {})) for o in outputs)
    assert "trained 3" in text
    assert ("epochs" in text) == bool(session), text
