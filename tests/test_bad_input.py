"""Bad input outside the recurrent core: every case is a clear error that names what was expected.

One row per (function, bad input): the exception type and the message it must give. The classes of
error: empty sizes, wrong shapes, wrong kinds/dtypes, NaN/inf, call order, paths. (Attention, the
optimizers and schedulers, fit/evaluate/accuracy, Dropout and LastStep have their own files.)
"""

from __future__ import annotations

import numpy as np
import pytest

import lib
from lib import initializers as init

RNG = np.random.default_rng


def _dense_after_forward():
    layer = lib.Dense(3, 2)
    layer.forward(np.zeros((4, 3)))
    return layer


def _embedding_after_forward():
    emb = lib.Embedding(5, 3)
    emb.forward(np.array([[0, 1], [2, 3]]))
    return emb


def _tanh_after_forward():
    layer = lib.Tanh()
    layer.forward(np.zeros((2, 3), np.float32))
    return layer


def _seq2seq():
    return lib.Seq2Seq(5, 6, embed_dim=3, hidden_size=4, rng=RNG(0))


def _seq2seq_after_forward():
    model = _seq2seq()
    model.forward(np.ones((2, 3), int), np.ones((2, 4), int))
    return model


CASES = [
    # --- activations: functions --------------------------------------------------------------------
    ("sigmoid of strings", lambda: lib.sigmoid(np.array(["a"])), TypeError,
     "sigmoid expected an array of real numbers, got dtype <U1"),
    ("relu of complex", lambda: lib.relu(np.array([1j])), TypeError, "relu expected an array of real numbers"),
    ("tanh of a ragged list", lambda: lib.tanh([[1.0], [1.0, 2.0]]), TypeError, "tanh expected an array of numbers"),
    ("softmax over an empty axis", lambda: lib.softmax(np.zeros((2, 0))), ValueError,
     r"softmax is undefined over an empty axis: axis -1 of shape \(2, 0\) has size 0"),
    ("log_softmax with a bad axis", lambda: lib.log_softmax(np.zeros((2, 3)), axis=2), ValueError,
     r"log_softmax expected axis to be an int in \[-2, 2\) for an input of shape \(2, 3\), got 2"),
    ("softmax with a float axis", lambda: lib.softmax(np.zeros((2, 3)), axis=1.0), ValueError,
     "softmax expected axis to be an int"),
    # --- activations: layers -----------------------------------------------------------------------
    ("Tanh of a list", lambda: lib.Tanh().forward([1.0, 2.0]), TypeError, "Tanh expected a numpy array, got list"),
    ("ReLU of ints", lambda: lib.ReLU().forward(np.ones(3, int)), TypeError,
     "ReLU expected a float32 or float64 array, got int64"),
    ("Sigmoid with NaN", lambda: lib.Sigmoid().forward(np.array([np.nan])), ValueError,
     r"Sigmoid got non-finite values \(NaN or inf\)"),
    ("GELU(dtype=float32) given float64", lambda: lib.GELU(dtype=np.float32).forward(np.zeros(2)), TypeError,
     "GELU expected dtype float32, got float64"),
    ("Softmax over an empty last axis", lambda: lib.Softmax().forward(np.zeros((3, 0))), ValueError,
     "softmax is undefined over an empty axis"),
    ("ELU with a string alpha", lambda: lib.ELU(alpha="1"), TypeError, "ELU expected alpha to be a number, got str"),
    ("LeakyReLU with a NaN slope", lambda: lib.LeakyReLU(float("nan")), ValueError,
     r"LeakyReLU expected negative_slope in \[-inf, inf\), got nan"),
    ("get_activation unknown", lambda: lib.get_activation("swish"), ValueError,
     r"unknown activation 'swish'; expected one of \["),
    ("Tanh.backward before forward", lambda: lib.Tanh().backward(np.zeros(2)), RuntimeError,
     "Tanh.backward called before forward"),
    ("Tanh.backward wrong shape, same size", lambda: _tanh_after_forward().backward(np.zeros((3, 2), np.float32)),
     ValueError, r"Tanh.backward expected a gradient of shape \(2, 3\) \(like the forward output\), got \(3, 2\)"),
    ("Tanh.backward wrong dtype", lambda: _tanh_after_forward().backward(np.zeros((2, 3))), TypeError,
     "Tanh.backward expected a gradient of dtype float32, got float64"),
    ("Tanh.backward NaN", lambda: _tanh_after_forward().backward(np.full((2, 3), np.nan, np.float32)), ValueError,
     "Tanh.backward got non-finite values"),
    ("Tanh.backward a list", lambda: _tanh_after_forward().backward([[0.0] * 3] * 2), TypeError,
     "Tanh.backward expected the gradient as a numpy array, got list"),
    # --- layers ------------------------------------------------------------------------------------
    ("Dense(0, 3)", lambda: lib.Dense(0, 3), ValueError, "Dense expected in_features to be a positive int, got 0"),
    ("Dense(3, True)", lambda: lib.Dense(3, True), ValueError, "Dense expected out_features to be a positive int"),
    ("Dense with a seed for rng", lambda: lib.Dense(2, 2, rng=0), TypeError,
     "Dense expected rng to be an np.random.Generator"),
    ("Dense init returning the wrong shape", lambda: lib.Dense(2, 3, init=lambda shape, rng, dtype: np.zeros(6)),
     ValueError, r"Dense: init must return an array of shape \(3, 2\), got \(6,\)"),
    ("Dense init of the wrong kind", lambda: lib.Dense(2, 3, init=5), TypeError,
     "Dense expected init to be a function or an initializer's name, got int"),
    ("Dense init unknown name", lambda: lib.Dense(2, 3, init="he"), ValueError, "unknown initializer 'he'"),
    ("Dense of a 1-d input", lambda: lib.Dense(3, 2).forward(np.zeros(3)), ValueError,
     r"Dense expected input of shape \(batch, 3\) or \(batch, time, 3\), got \(3,\)"),
    ("Dense.backward before forward", lambda: lib.Dense(3, 2).backward(np.zeros((1, 2))), RuntimeError,
     "Dense.backward called before forward"),
    ("Dense.backward wrong shape, same size", lambda: _dense_after_forward().backward(np.zeros((2, 4))), ValueError,
     r"Dense.backward expected a gradient of shape \(4, 2\)"),
    ("Dense.backward NaN", lambda: _dense_after_forward().backward(np.full((4, 2), np.nan)), ValueError,
     "Dense.backward got non-finite values"),
    ("Dense.backward float32 into float64", lambda: _dense_after_forward().backward(np.zeros((4, 2), np.float32)),
     TypeError, "Dense.backward expected a gradient of dtype float64, got float32"),
    ("Sequential()", lambda: lib.Sequential(), ValueError, "Sequential expected at least one layer"),
    ("Sequential of a function", lambda: lib.Sequential(lib.Dense(2, 2), np.tanh), TypeError,
     "Sequential expected Module layers, got ufunc at position 1"),
    ("Sequential.backward before forward", lambda: lib.Sequential(lib.Dense(2, 2)).backward(np.zeros((1, 2))),
     RuntimeError, "Dense.backward called before forward"),
    # --- module: state_dict, save, load ------------------------------------------------------------
    ("load_state_dict of a list", lambda: lib.Dense(2, 2).load_state_dict([1, 2]), TypeError,
     "Dense.load_state_dict expected a dict of arrays, got list"),
    ("load_state_dict missing a key", lambda: lib.Dense(2, 2).load_state_dict({"weight": np.zeros((2, 2))}),
     ValueError, r"Dense.load_state_dict: missing keys \['bias'\], unexpected keys \[\]"),
    ("load_state_dict wrong shape", lambda: lib.Dense(2, 2).load_state_dict(
        {"weight": np.zeros((2, 3)), "bias": np.zeros(2)}), ValueError,
     r"Dense.load_state_dict: weight expected shape \(2, 2\), got \(2, 3\)"),
    ("load_state_dict NaN", lambda: lib.Dense(2, 2).load_state_dict(
        {"weight": np.full((2, 2), np.nan), "bias": np.zeros(2)}), ValueError,
     "Dense.load_state_dict: weight holds NaN or inf"),
    ("load_state_dict strings", lambda: lib.Dense(1, 1).load_state_dict(
        {"weight": np.array([["a"]]), "bias": np.zeros(1)}), TypeError,
     "Dense.load_state_dict: weight expected numbers, got dtype <U1"),
    ("save to None", lambda: lib.Dense(2, 2).save(None), TypeError,
     r"Dense.save expected a path \(str or os.PathLike\), got NoneType"),
    ("save to ''", lambda: lib.Dense(2, 2).save(""), ValueError, "Dense.save expected a path, got an empty string"),
    ("load a missing file", lambda: lib.Dense(2, 2).load("/nonexistent/ckpt"), FileNotFoundError,
     "No such file or directory"),
    # --- embedding ---------------------------------------------------------------------------------
    ("Embedding(0, 3)", lambda: lib.Embedding(0, 3), ValueError,
     "Embedding expected num_embeddings to be a positive int, got 0"),
    ("Embedding of floats", lambda: lib.Embedding(5, 3).forward(np.array([1.0])), TypeError,
     "Embedding expected integer ids, got dtype float64"),
    ("Embedding id out of range", lambda: lib.Embedding(5, 3).forward(np.array([5])), ValueError,
     r"Embedding expected ids in \[0, 5\), got range \[5, 5\]"),
    ("Embedding.backward before forward", lambda: lib.Embedding(5, 3).backward(np.zeros((1, 3))), RuntimeError,
     "Embedding.backward called before forward"),
    ("Embedding.backward same size, wrong shape", lambda: _embedding_after_forward().backward(np.zeros((4, 3))),
     ValueError, r"Embedding.backward expected a gradient of shape \(2, 2, 3\) \(like the forward output\), "
                 r"got \(4, 3\)"),
    ("Embedding.backward NaN", lambda: _embedding_after_forward().backward(np.full((2, 2, 3), np.nan)), ValueError,
     "Embedding.backward got non-finite values"),
    # --- losses ------------------------------------------------------------------------------------
    ("mse_loss of empty arrays", lambda: lib.mse_loss(np.zeros((0, 1)), np.zeros((0, 1))), ValueError,
     r"mse_loss got an empty input of shape \(0, 1\); the mean is undefined"),
    ("mse_loss shape mismatch", lambda: lib.mse_loss(np.zeros((4, 1)), np.zeros(4)), ValueError,
     r"mse_loss expected target of shape \(4, 1\) \(like the input\), got \(4,\)"),
    ("mse_loss NaN target", lambda: lib.mse_loss(np.zeros(2), np.array([0.0, np.nan])), ValueError,
     "mse_loss target got non-finite values"),
    ("mse_loss string target", lambda: lib.mse_loss(np.zeros(1), np.array(["a"])), TypeError,
     "mse_loss expected a numeric target, got dtype <U1"),
    ("mse_loss bad reduction", lambda: lib.mse_loss(np.zeros(1), np.zeros(1), reduction="avg"), ValueError,
     r"reduction must be one of \('mean', 'sum', 'none'\), got 'avg'"),
    ("BCE of empty arrays", lambda: lib.binary_cross_entropy_with_logits(np.zeros(0), np.zeros(0)), ValueError,
     "binary_cross_entropy_with_logits got an empty input"),
    ("BCE target outside [0, 1]", lambda: lib.binary_cross_entropy_with_logits(np.zeros(2), np.array([0.0, 2.0])),
     ValueError, r"expected targets in \[0, 1\]"),
    ("cross-entropy with no classes", lambda: lib.softmax_cross_entropy(np.zeros((2, 0)), np.zeros(2, int)),
     ValueError, r"softmax_cross_entropy expected at least one class, got logits of shape \(2, 0\)"),
    ("cross-entropy of an empty batch", lambda: lib.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, int)),
     ValueError, "softmax_cross_entropy got an empty batch"),
    ("cross-entropy one-hot targets", lambda: lib.softmax_cross_entropy(np.zeros((2, 3)), np.eye(3)[:2]),
     TypeError, "softmax_cross_entropy expected integer class targets, got dtype float64"),
    ("cross-entropy label out of range", lambda: lib.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
     ValueError, r"expected class ids in \[0, 3\) or ignore_index=-100, got 3"),
    ("cross-entropy float ignore_index", lambda: lib.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1]),
                                                                        ignore_index=-1.5),
     TypeError, "softmax_cross_entropy expected ignore_index to be an int"),
    # --- clipping ----------------------------------------------------------------------------------
    ("clip_grad_norm of a string", lambda: lib.clip_grad_norm(["nope"], 1.0), TypeError,
     "clipping expected modules or dicts of gradients, got str"),
    ("clip_grad_norm negative max_norm", lambda: lib.clip_grad_norm({"w": np.ones(2)}, -1.0), ValueError,
     r"clip_grad_norm expected max_norm >= 0 \(inf: no clipping\), got -1.0"),
    ("clip_grad_norm NaN max_norm", lambda: lib.clip_grad_norm({"w": np.ones(2)}, float("nan")), ValueError,
     r"clip_grad_norm expected max_norm >= 0 \(inf: no clipping\), got nan"),
    ("clip_grad_norm norm_type 0", lambda: lib.clip_grad_norm({"w": np.ones(2)}, 1.0, norm_type=0), ValueError,
     r"clip_grad_norm expected norm_type in \(0.0, inf\), got 0.0"),
    ("clip_grad_norm of int gradients", lambda: lib.clip_grad_norm({"w": np.ones(2, int)}, 1.0), TypeError,
     "clipping expected float gradient arrays, got dtype int64"),
    ("clip_grad_norm non-finite, error_if_nonfinite",
     lambda: lib.clip_grad_norm({"w": np.array([np.inf])}, 1.0, error_if_nonfinite=True), RuntimeError,
     "clip_grad_norm: the total norm of order 2.0 of the gradients is inf, so it cannot be clipped"),
    ("clip_grad_value negative", lambda: lib.clip_grad_value({"w": np.ones(2)}, -1.0), ValueError,
     r"clip_grad_value expected clip_value in \[0.0, inf\), got -1.0"),
    # --- gradcheck ---------------------------------------------------------------------------------
    ("numerical_gradient of a list", lambda: lib.numerical_gradient(lambda: 0.0, [1.0]), TypeError,
     r"numerical_gradient expected x as a numpy array \(perturbed in place\), got list"),
    ("numerical_gradient of float32", lambda: lib.numerical_gradient(lambda: 0.0, np.zeros(2, np.float32)),
     TypeError, "numerical_gradient expected a float64 array, got float32"),
    ("numerical_gradient eps 0", lambda: lib.numerical_gradient(lambda: 0.0, np.zeros(2), eps=0), ValueError,
     r"numerical_gradient expected eps in \(0.0, inf\), got 0.0"),
    ("numerical_gradient non-scalar f", lambda: lib.numerical_gradient(lambda: np.zeros(2), np.zeros(2)),
     ValueError, r"numerical_gradient expected f\(\) to return a scalar loss, got shape \(2,\)"),
    ("numerical_gradient f not callable", lambda: lib.numerical_gradient(1.0, np.zeros(2)), TypeError,
     "numerical_gradient expected f to be a function of no arguments, got float"),
    ("relative_error shapes", lambda: lib.relative_error(np.zeros(2), np.zeros(3)), ValueError,
     r"relative_error expected arrays of equal shape, got \(2,\) and \(3,\)"),
    ("relative_error of strings", lambda: lib.relative_error(np.array(["a"]), np.zeros(1)), TypeError,
     "relative_error expected two arrays of numbers"),
    ("gradient_check missing analytic", lambda: lib.gradient_check(lambda: 0.0, {"w": np.zeros(1)}, {}),
     ValueError, "gradient_check: no analytic gradient for 'w'"),
    ("check_layer of a recurrent layer", lambda: lib.check_layer(lib.GRU(2, 2), np.zeros((1, 2, 2))), TypeError,
     r"check_layer expected layer.forward to return one array, got tuple \(for a recurrent layer, wrap it"),
    # --- tbptt -------------------------------------------------------------------------------------
    ("truncated_bptt of a Dense", lambda: lib.truncated_bptt(lib.Dense(1, 1), lib.Dense(1, 1), np.zeros((1, 4, 1)),
                                                             np.zeros((1, 4, 1)), 2, lib.mse_loss, None),
     TypeError, r"truncated_bptt expected rnn to be a recurrent layer \(lib.RNN, LSTM, GRU\), got Dense"),
    ("truncated_bptt chunk 0", lambda: lib.truncated_bptt(lib.GRU(1, 2), lib.Dense(2, 1), np.zeros((1, 4, 1)),
                                                          np.zeros((1, 4, 1)), 0, lib.mse_loss, None),
     ValueError, r"truncated_bptt expected chunk >= 1 \(an int\), got 0"),
    ("truncated_bptt y without time", lambda: lib.truncated_bptt(lib.GRU(1, 2), lib.Dense(2, 1), np.zeros((1, 4, 1)),
                                                                 np.zeros((1, 1)), 2, lib.mse_loss, None),
     ValueError, r"truncated_bptt expected x \(batch, time, features\) and y \(batch, time, ...\)"),
    ("truncated_bptt empty stream", lambda: lib.truncated_bptt(lib.GRU(1, 2), lib.Dense(2, 1), np.zeros((1, 0, 1)),
                                                               np.zeros((1, 0, 1)), 2, lib.mse_loss, None),
     ValueError, r"truncated_bptt got an empty input: x of shape \(1, 0, 1\)"),
    ("truncated_bptt no optimizer", lambda: lib.truncated_bptt(lib.GRU(1, 2), lib.Dense(2, 1), np.zeros((1, 4, 1)),
                                                               np.zeros((1, 4, 1)), 2, lib.mse_loss, None),
     TypeError, r"truncated_bptt expected an optimizer with step\(\), got NoneType"),
    # --- data --------------------------------------------------------------------------------------
    ("one_hot with 0 classes", lambda: lib.one_hot(np.array([0]), 0), ValueError,
     "one_hot expected num_classes to be a positive int, got 0"),
    ("one_hot of floats", lambda: lib.one_hot(np.array([0.0]), 2), TypeError, "one_hot expected integer labels"),
    ("sliding_windows window 2.5", lambda: lib.sliding_windows(np.zeros(10), 2.5), ValueError,
     "sliding_windows expected window to be a positive int, got 2.5"),
    ("sliding_windows too short", lambda: lib.sliding_windows(np.zeros(3), 3), ValueError,
     "sliding_windows: a series of length 3 is too short for window=3 and horizon=1"),
    ("sliding_windows of strings", lambda: lib.sliding_windows(np.array(["a", "b", "c"]), 1), TypeError,
     "sliding_windows expected a numeric series, got dtype <U1"),
    ("pad_sequences of []", lambda: lib.pad_sequences([]), ValueError, "pad_sequences expected at least one sequence"),
    ("pad_sequences of an array", lambda: lib.pad_sequences(np.zeros((2, 3))), TypeError,
     "pad_sequences expected a list of arrays, got ndarray"),
    ("pad_sequences of scalars", lambda: lib.pad_sequences([1.0, 2.0]), ValueError,
     r"pad_sequences expected sequences of shape \(T,\) or \(T, F\), got a scalar at position 0"),
    ("pad_sequences max_len 0", lambda: lib.pad_sequences([np.zeros(2)], max_len=0), ValueError,
     "pad_sequences expected max_len to be a positive int, got 0"),
    ("pad_sequences ragged features", lambda: lib.pad_sequences([np.zeros((2, 3)), np.zeros((2, 4))]), ValueError,
     r"pad_sequences expected every sequence to have trailing shape \(3,\), sequence 1 has \(4,\)"),
    ("train_test_split of one example", lambda: lib.train_test_split(np.zeros(1), rng=RNG(0)), ValueError,
     "train_test_split needs at least 2 examples"),
    ("train_test_split of a list", lambda: lib.train_test_split([1, 2, 3], rng=RNG(0)), TypeError,
     "train_test_split expected numpy arrays with a first axis of examples, got list at position 0"),
    ("train_test_split test_size 1.5", lambda: lib.train_test_split(np.zeros(4), test_size=1.5, rng=RNG(0)),
     ValueError, "train_test_split expected a fraction 0 < test_size < 1 or a count, got 1.5"),
    ("Standardizer.fit of []", lambda: lib.Standardizer().fit(np.zeros((0, 2))), ValueError,
     "Standardizer.fit expected a non-empty array"),
    ("Standardizer.fit NaN", lambda: lib.Standardizer().fit(np.array([[np.nan]])), ValueError,
     "Standardizer.fit got non-finite values"),
    ("Standardizer axis out of range", lambda: lib.Standardizer(axis=2).fit(np.zeros((3, 2))), ValueError,
     r"Standardizer axis 2 is out of range for an array of shape \(3, 2\)"),
    ("Standardizer eps 0", lambda: lib.Standardizer(eps=0), ValueError, r"Standardizer expected eps in \(0.0, inf\)"),
    ("Standardizer.transform before fit", lambda: lib.Standardizer().transform(np.zeros(2)), RuntimeError,
     r"Standardizer used before fit\(\)"),
    ("adding_problem T 1", lambda: lib.adding_problem(4, 1, RNG(0)), ValueError,
     "adding_problem expected T to be an int >= 2, got 1"),
    # --- initializers ------------------------------------------------------------------------------
    ("xavier_uniform of a zero dimension", lambda: init.xavier_uniform((0, 3), RNG(0)), ValueError,
     r"fans expected every dimension of the shape to be >= 1, got \(0, 3\)"),
    ("kaiming_normal of a 1-d shape", lambda: init.kaiming_normal((3,), RNG(0)), ValueError,
     r"fan-in and fan-out need a weight with at least 2 dimensions, got shape \(3,\)"),
    ("normal with a float shape", lambda: init.normal((2.0, 3), RNG(0)), TypeError,
     r"normal expected a shape as a tuple of ints, got \(2.0, 3\)"),
    ("normal std < 0", lambda: init.normal((2, 2), RNG(0), std=-1.0), ValueError,
     r"normal expected std in \[0.0, inf\), got -1.0"),
    ("uniform low > high", lambda: init.uniform((2,), RNG(0), low=1.0, high=0.0), ValueError,
     "uniform expected low <= high, got low=1.0 and high=0.0"),
    ("orthogonal without an rng", lambda: init.orthogonal((2, 2), None), TypeError,
     "orthogonal expected an np.random.Generator"),
    ("identity of 3 dims", lambda: init.identity((2, 2, 2)), ValueError,
     r"identity expected a 2-D shape, got \(2, 2, 2\)"),
    ("zeros in int", lambda: init.zeros((2,), dtype=np.int32), TypeError,
     "dtype must be float32 or float64, got int32"),
    ("kaiming mode", lambda: init.kaiming_uniform((2, 2), RNG(0), mode="fan_avg"), ValueError,
     "mode must be 'fan_in' or 'fan_out', got 'fan_avg'"),
    ("calculate_gain unknown", lambda: init.calculate_gain("swish"), ValueError, "unknown nonlinearity 'swish'"),
    ("calculate_gain of an array", lambda: init.calculate_gain(np.zeros(2)), TypeError,
     r"calculate_gain expected the nonlinearity's name \(a str\), got ndarray"),
    # --- perceptron --------------------------------------------------------------------------------
    ("Perceptron(0)", lambda: lib.Perceptron(0), ValueError, "Perceptron expected n_features to be a positive int"),
    ("Perceptron lr 0", lambda: lib.Perceptron(2, lr=0), ValueError, r"Perceptron expected lr in \(0.0, inf\)"),
    ("Perceptron.fit of no examples", lambda: lib.Perceptron(2).fit(np.zeros((0, 2)), np.zeros(0)), ValueError,
     "Perceptron.fit expected at least one example, got 0"),
    ("Perceptron.fit labels -1/1", lambda: lib.Perceptron(2).fit(np.zeros((2, 2)), np.array([-1, 1])), ValueError,
     r"Perceptron.fit expected labels in \{0, 1\}"),
    ("Perceptron.fit epochs 0", lambda: lib.Perceptron(2).fit(np.zeros((2, 2)), np.array([0, 1]), epochs=0),
     ValueError, "Perceptron.fit expected epochs to be a positive int, got 0"),
    ("Perceptron.fit seed for rng", lambda: lib.Perceptron(2).fit(np.zeros((2, 2)), np.array([0, 1]), rng=1),
     TypeError, "Perceptron.fit expected rng to be an np.random.Generator or None, got int"),
    ("Perceptron.step wrong shape", lambda: lib.Perceptron(2).step(np.zeros(3), 1), ValueError,
     r"Perceptron.step x expected input of shape \(2,\), got \(3,\)"),
    ("Perceptron.step label 2", lambda: lib.Perceptron(2).step(np.zeros(2), 2), ValueError,
     r"Perceptron.step expected a label in \{0, 1\}, got 2"),
    ("Perceptron.predict NaN", lambda: lib.Perceptron(2).predict(np.array([[np.nan, 0.0]])), ValueError,
     "Perceptron got non-finite values"),
    # --- seq2seq -----------------------------------------------------------------------------------
    ("Seq2Seq hidden_size 0", lambda: lib.Seq2Seq(5, 5, 3, 0), ValueError,
     "Seq2Seq expected hidden_size to be a positive int, got 0"),
    ("Seq2Seq batch mismatch", lambda: _seq2seq().forward(np.ones((2, 3), int), np.ones((3, 4), int)), ValueError,
     "Seq2Seq expected tgt_in with the source's batch size 2, got 3"),
    ("Seq2Seq empty target", lambda: _seq2seq().forward(np.ones((2, 3), int), np.ones((2, 0), int)), ValueError,
     r"Seq2Seq expected tgt_in of shape \(batch, length\) with both >= 1, got \(2, 0\)"),
    ("Seq2Seq float tokens", lambda: _seq2seq().forward(np.ones((2, 3)), np.ones((2, 4), int)), TypeError,
     "Seq2Seq expected integer token ids in src, got dtype float64"),
    ("Seq2Seq target id out of range", lambda: _seq2seq().forward(np.ones((2, 3), int), np.full((2, 4), 6)),
     ValueError, r"Seq2Seq expected tgt_in ids in \[0, 6\), got values in \[6, 6\]"),
    ("Seq2Seq.backward before forward", lambda: _seq2seq().backward(np.zeros((2, 4, 6))), RuntimeError,
     "Seq2Seq.backward called before forward"),
    ("Seq2Seq.backward wrong shape", lambda: _seq2seq_after_forward().backward(np.zeros((2, 6, 4))), ValueError,
     r"Seq2Seq.backward expected a gradient of shape \(2, 4, 6\)"),
    ("Seq2Seq.greedy_decode max_len 0", lambda: _seq2seq().greedy_decode(np.ones((2, 3), int), 0, bos=0), ValueError,
     "Seq2Seq.greedy_decode expected max_len to be a positive int, got 0"),
    ("Seq2Seq.greedy_decode bos out of range", lambda: _seq2seq().greedy_decode(np.ones((2, 3), int), 3, bos=9),
     ValueError, r"Seq2Seq.greedy_decode expected bos to be a token id in \[0, 6\), got 9"),
    ("Seq2Seq backward after greedy_decode", lambda: (lambda m: (m.greedy_decode(np.ones((2, 3), int), 2, 0),
                                                                 m.backward(np.zeros((2, 4, 6)))))(
        _seq2seq_after_forward()), RuntimeError, "Seq2Seq.backward called before forward"),
]


@pytest.mark.parametrize("call, error, match", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_a_clear_error(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_numerical_gradient_of_an_empty_array_is_empty():
    assert lib.numerical_gradient(lambda: 0.0, np.zeros((0, 3))).shape == (0, 3)


def test_functions_promote_integers_like_torch():
    """sigmoid(int array) used to be cast back to int (all zeros): now computed in float64, as torch promotes."""
    np.testing.assert_allclose(lib.sigmoid(np.array([0, 2])), [0.5, 1 / (1 + np.exp(-2))])
    np.testing.assert_allclose(lib.gelu([1, 2]), lib.gelu(np.array([1.0, 2.0])))
    assert lib.relu(np.array([True, False])).dtype == np.float64


def test_save_uses_the_path_exactly_as_given(tmp_path):
    """Like torch.save: save("ckpt") writes "ckpt", not "ckpt.npz", and load("ckpt") reads it back."""
    layer = lib.Dense(3, 2, rng=RNG(0))
    path = tmp_path / "ckpt"
    layer.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]
    other = lib.Dense(3, 2, rng=RNG(1))
    other.load(str(path))
    np.testing.assert_array_equal(other.params["weight"], layer.params["weight"])
    layer.save(tmp_path / "model.npz")
    assert (tmp_path / "model.npz").exists() and not (tmp_path / "model.npz.npz").exists()
    np.save(tmp_path / "array.npy", np.zeros(2))
    with pytest.raises(ValueError, match=r"holds a single array \(.npy\), not an .npz file written by save\(\)"):
        other.load(tmp_path / "array.npy")
    (tmp_path / "notes.txt").write_text("not a checkpoint")
    with pytest.raises(ValueError, match=r"'.*notes.txt' is not an .npz file written by save\(\)"):
        other.load(tmp_path / "notes.txt")
    (tmp_path / "empty").write_bytes(b"")
    with pytest.raises(ValueError, match="is not an .npz file"):
        other.load(tmp_path / "empty")
    before = other.params["weight"].copy()
    lib.Dense(3, 4).save(tmp_path / "wide")
    with pytest.raises(ValueError, match=r"weight expected shape \(2, 3\), got \(4, 3\)"):
        other.load(tmp_path / "wide")
    np.testing.assert_array_equal(other.params["weight"], before)  # a refused load changes nothing


def test_clip_grad_norm_edge_cases_match_torch():
    torch = pytest.importorskip("torch")
    assert lib.clip_grad_norm([], 1.0, norm_type=np.inf) == 0.0 == float(
        torch.nn.utils.clip_grad_norm_([], 1.0, norm_type=float("inf")))
    assert lib.clip_grad_norm([], 1.0) == 0.0
    for bad in ([1.0, np.inf, 2.0], [1.0, np.nan, 2.0]):
        grads = {"w": np.array(bad)}
        p = torch.nn.Parameter(torch.ones(3, dtype=torch.float64))
        p.grad = torch.tensor(bad, dtype=torch.float64)
        total = lib.clip_grad_norm(grads, 1.0)
        ttotal = float(torch.nn.utils.clip_grad_norm_([p], 1.0))
        assert total == ttotal or (np.isnan(total) and np.isnan(ttotal))
        np.testing.assert_array_equal(grads["w"], p.grad.numpy())  # inf: [0, nan, 0]; nan: all nan
    grads = {"w": np.array([3.0, 4.0])}
    assert lib.clip_grad_norm(grads, np.inf) == 5.0 and (grads["w"] == [3.0, 4.0]).all()  # measure only
    empty = {"w": np.zeros(0), "b": np.array([3.0, -4.0])}
    assert lib.clip_grad_norm(empty, 1.0, norm_type=np.inf) == 4.0


def test_embedding_keeps_its_own_ids():
    emb = lib.Embedding(4, 2, rng=RNG(0))
    ids = np.array([0, 1])
    emb.forward(ids)
    ids[:] = 3  # the caller reuses its array before backward
    emb.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(emb.grads["weight"], [[1, 1], [1, 1], [0, 0], [0, 0]])
