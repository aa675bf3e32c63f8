// Every op of the tape, listed once. Each X(name, Params) entry generates the `Op` enumerator, the
// name `op_name` prints, the op's settings type (`OpParams<Op::name>`), the declaration of its
// backward kernel `detail::backward_name` and its case in Tape::backward's one switch. The forward
// and backward of an op are written side by side in the ops_*.cpp file of its group; a group's
// file instantiates what its list names, so an entry without a kernel fails to link.
//
// Element-wise functions (VK_OPS_UNARY) need even less: their public function (`vk::swish(x)`) is
// generated too, and the kernel is a struct `fn::name` in ops_elementwise.cpp holding f(x) and
// its derivative next to each other.
#pragma once

#include "autodiff/op_params.hpp"

// Leaves: no inputs, no backward.
#define VK_OPS_LEAF(X)   \
  X(constant, NoParams) /* data the tape reads but never differentiates */ \
  X(variable, NoParams) /* a leaf whose gradient goes to a buffer the caller owns */

// ops_linear.cpp
#define VK_OPS_LINEAR(X) \
  X(matmul, NoParams)    /* A[m,k] B[k,n] */ \
  X(linear, NoParams)    /* X[m,k] W[k,n] + b[1,n] */

// ops_elementwise.cpp: shapes equal, or 1 along an axis of one operand
#define VK_OPS_BINARY(X) X(add, NoParams) X(sub, NoParams) X(mul, NoParams) X(div, NoParams)

// ops_elementwise.cpp: y = f(x) element by element
#define VK_OPS_UNARY(X)          \
  X(scale, ScaleParams)          \
  X(exp, NoParams)               \
  X(log, NoParams)               \
  X(square, NoParams)            \
  X(sqrt, NoParams)              \
  X(softplus, NoParams)          \
  X(sigmoid, NoParams)           \
  X(tanh, NoParams)              \
  X(relu, NoParams)              \
  X(leaky_relu, LeakyReluParams) \
  X(elu, EluParams)              \
  X(swish, NoParams)             \
  X(softsign, NoParams)

// ops_reduce.cpp
#define VK_OPS_REDUCE(X)       \
  X(sum, SumParams)            \
  X(logsumexp, LogsumexpParams)

// ops_shape.cpp: the feature axis (columns) and whole-row reinterpretation
#define VK_OPS_SHAPE(X)            \
  X(concat_cols, NoParams)         \
  X(slice_cols, SliceParams)       \
  X(reshape, NoParams) /* the same elements as [rows', cols']: shares storage */ \
  X(tile_rows, TileParams) /* [m, n] -> [times m, n], the rows repeated as a block */ \
  X(permute_cols, PermuteParams) /* y[:, j] = x[:, order[j]], a flow's fixed permutation */ \
  X(tile_pixels, NoParams) /* [m, C] -> [m, P C]: one row of channels at each of P pixels */

// ops_conv.cpp: images are rows [batch, H*W*C], channels last
#define VK_OPS_CONV(X)           \
  X(conv2d, ConvParams)          \
  X(conv_transpose2d, ConvParams)

// ops_norm.cpp: normalizations of channels-last images
#define VK_OPS_NORM(X)           \
  X(group_norm, GroupNormParams)

// ops_vae.cpp: fused, numerically stable pieces of the VAE objective
#define VK_OPS_DENSITY(X)        \
  X(reparameterize, NoParams)    \
  X(gaussian_kl, NoParams)       \
  X(bernoulli_loglik, NoParams)  \
  X(gaussian_loglik, NoParams)

// ops_logistic.cpp: the discretized logistic of 8-bit pixels
#define VK_OPS_LOGISTIC(X)               \
  X(logistic_loglik, LogisticParams)     \
  X(logistic_mean, LogisticParams) /* its mean image */

// Every op that has a backward, and then every op.
#define VK_OPS_COMPUTED(X) \
  VK_OPS_LINEAR(X) VK_OPS_BINARY(X) VK_OPS_UNARY(X) VK_OPS_REDUCE(X) VK_OPS_SHAPE(X) \
  VK_OPS_CONV(X) VK_OPS_NORM(X) VK_OPS_DENSITY(X) VK_OPS_LOGISTIC(X)
#define VK_OPS(X) VK_OPS_LEAF(X) VK_OPS_COMPUTED(X)
