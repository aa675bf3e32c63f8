// Every model kind, once: X(name, factory, variational, conditional, stacked, latent, hidden,
// activation, flags, help). The registry (vae/registry.cpp) makes its table from this list and
// the factories' declarations; a kind's own files define its factory. latent, hidden and
// activation are the kind's defaults for the mlp family where no flag sets them; flags are the
// vae-train flags only this kind reads (--name=default: a setting of its own, ModelConfig::settings).
#pragma once

// clang-format off
#define VK_MODEL_KINDS(X) \
  X(ae, make_autoencoder, false, false, false, 20, "400", "relu", "", "autoencoder: ||x - D(E(x))||^2") \
  X(rae, make_regularized_autoencoder, false, false, false, 20, "400", "relu", "--lambda", "regularized autoencoder: ||x - D(E(x))||^2 + lambda ||E(x)||^2") \
  X(vae, make_vae, true, false, false, 20, "400", "relu", "", "VAE: q(z|x) a diagonal Gaussian, p(z) = N(0, I)") \
  X(cvae, make_vae, true, true, false, 20, "400", "relu", "--condition --embedding", "conditional VAE of p(x|y) (--condition says where y goes)") \
  X(hvae, make_hvae, true, false, true, 100, "100,100", "tanh", "--latents --latent2 --hidden2", "hierarchical VAE: p(z) is a VAE over z2, ... (--latents 100,50,20: three stochastic layers)") \
  X(mog, make_mog, true, false, false, 20, "400", "relu", "--components=10", "VAE with a learned mixture of Gaussians as p(z)") \
  // (the end of the list: every line above ends with a backslash, so a new kind is one new line)
// clang-format on
