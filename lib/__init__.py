"""lib — the book's small NumPy neural-network library.

Every layer has hand-written forward and backward passes, ``params`` and
``grads`` dicts keyed like PyTorch, and docstrings that state array shapes.
"""

# --- foundation -------------------------------------------------------------
from ._checks import check_array, check_dtype
from .gradcheck import check_layer, gradient_check, numerical_gradient, relative_error
from .module import Module
from .perceptron import Perceptron
from .glue import Glue

# --- core (activations, dense, losses, optimizers, training, data) -----------
from .activations import (
    ELU, GELU, Activation, Identity, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Tanh,
    elu, gelu, get_activation, identity, leaky_relu, log_softmax, relu, sigmoid, softmax, tanh,
)
from .data import (
    Standardizer, adding_problem, delayed_echo, one_hot, pad_sequences, sliding_windows, standardize, train_test_split,
)
from .dropout import Dropout
from .layers import Dense, Sequential
from .losses import binary_cross_entropy_with_logits, mse_loss, softmax_cross_entropy
from .optim import (
    SGD, Adam, AdamW, CosineAnnealingLR, ExponentialLR, LinearLR, LinearWarmup, LRScheduler, Optimizer, RMSprop, StepLR,
)
from .training import EarlyStopping, History, TrainingDiverged, accuracy, evaluate, fit, minibatches
from .timing import cpu_time
from . import initializers

# --- recurrent and attention ---------------------------------------------------
from .attention import (
    AdditiveAttention, MultiHeadAttention, ScaledDotProductAttention, scaled_dot_product_attention,
)
from .clipping import clip_grad_norm, clip_grad_value
from .embedding import Embedding
from .gru import GRU, GRUCell
from .last_step import LastStep
from .lstm import LSTM, LSTMCell
from .recurrent import RecurrentLayer
from .rnn import RNN, RNNCell
from .seq2seq import Seq2Seq
from .tbptt import truncated_bptt

# --- visualisation -------------------------------------------------------------
from .viz import Interactive, interactive
from .diagrams import draw_gru_cell, draw_io_patterns, draw_lstm_cell, draw_seq2seq, draw_unrolled_rnn

__all__ = [name for name in dir() if not name.startswith("_")]
