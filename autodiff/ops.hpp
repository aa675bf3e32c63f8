// The differentiable ops. Each is one node on the tape; forward and backward of each live side
// by side in the ops_*.cpp files. All are instantiated for float (training) and double
// (gradient checks).
#pragma once

#include <cstddef>
#include <utility>

#include "autodiff/tape.hpp"

namespace vk {

// --- linear algebra (ops_linear.cpp) ---
template <class T> Var<T> matmul(Var<T> a, Var<T> b);             // [m,k]·[k,n]
template <class T> Var<T> linear(Var<T> x, Var<T> w, Var<T> b);   // x·w + b, w [in,out], b [1,out]

// --- broadcasting arithmetic (ops_elementwise.cpp) ---
// Operands have equal shapes or 1 along an axis (a row [1,n], a column [m,1] or a scalar [1,1]).
template <class T> Var<T> add(Var<T> a, Var<T> b);
template <class T> Var<T> sub(Var<T> a, Var<T> b);
template <class T> Var<T> mul(Var<T> a, Var<T> b);
template <class T> Var<T> div(Var<T> a, Var<T> b);
template <class T> Var<T> scale(Var<T> x, T factor);

// --- element-wise functions (ops_elementwise.cpp) ---
template <class T> Var<T> exp(Var<T> x);
template <class T> Var<T> log(Var<T> x);
template <class T> Var<T> square(Var<T> x);
template <class T> Var<T> sqrt(Var<T> x);
template <class T> Var<T> softplus(Var<T> x);  // log(1 + e^x), stable for large |x|
template <class T> Var<T> sigmoid(Var<T> x);
template <class T> Var<T> tanh(Var<T> x);
template <class T> Var<T> relu(Var<T> x);
template <class T> Var<T> leaky_relu(Var<T> x, T slope = T(0.01));
template <class T> Var<T> elu(Var<T> x, T alpha = T(1));

// --- reductions (ops_reduce.cpp); axis 0 sums over rows ([m,n] -> [1,n]), axis 1 over columns
// ([m,n] -> [m,1]); the whole-tensor forms give [1,1] ---
template <class T> Var<T> sum(Var<T> x);
template <class T> Var<T> sum(Var<T> x, int axis);
template <class T> Var<T> mean(Var<T> x);
template <class T> Var<T> mean(Var<T> x, int axis);
template <class T> Var<T> logsumexp(Var<T> x, int axis);

// --- feature-axis shape ops (ops_shape.cpp) ---
template <class T> Var<T> concat_cols(Var<T> a, Var<T> b);
template <class T> Var<T> slice_cols(Var<T> x, std::size_t begin, std::size_t end);
template <class T> std::pair<Var<T>, Var<T>> split_cols(Var<T> x, std::size_t at);

// --- fused, numerically stable ops of the VAE objective (ops_vae.cpp); per-row results [m,1] ---
// z = mu + exp(logvar / 2) * eps, eps a [m,k] constant drawn from N(0, I).
template <class T> Var<T> reparameterize(Var<T> mu, Var<T> logvar, Var<T> eps);
// KL(N(mu, diag exp(logvar)) || N(0, I)) = 1/2 sum_j (exp(lv_j) + mu_j^2 - 1 - lv_j).
template <class T> Var<T> gaussian_kl(Var<T> mu, Var<T> logvar);
// log Bernoulli(x; sigmoid(logits)) = sum_j x_j l_j - softplus(l_j).
template <class T> Var<T> bernoulli_loglik(Var<T> logits, Var<T> x);
// log N(x; mean, exp(log_var) I) = -1/2 sum_j ((x_j - m_j)^2 e^{-lv_j} + lv_j + log 2 pi),
// log_var a scalar [1,1] or one per feature [1,d].
template <class T> Var<T> gaussian_loglik(Var<T> mean, Var<T> x, Var<T> log_var);

template <class T> Var<T> operator+(Var<T> a, Var<T> b) { return add(a, b); }
template <class T> Var<T> operator-(Var<T> a, Var<T> b) { return sub(a, b); }
template <class T> Var<T> operator*(Var<T> a, Var<T> b) { return mul(a, b); }
template <class T> Var<T> operator/(Var<T> a, Var<T> b) { return div(a, b); }
template <class T> Var<T> operator*(Var<T> a, T s) { return scale(a, s); }
template <class T> Var<T> operator*(T s, Var<T> a) { return scale(a, s); }
template <class T> Var<T> operator-(Var<T> a) { return scale(a, T(-1)); }

}  // namespace vk
