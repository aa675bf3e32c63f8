// Every model kind, once: X(name, factory, family, conditional, stacked, latent, hidden,
// activation, flags, help). The registry (vae/registry.cpp) makes its table from this list and
// the factories' declarations; a kind's own files define its factory. family is autoencoder (a
// code, no density), latent (a posterior q(z|x): bounds and importance weighting) or exact (log p(x)
// in closed form: a density over dequantized pixels). latent, hidden and
// activation are the kind's defaults for the mlp family where no flag sets them; flags are the
// vae-train flags only this kind reads (--name=default: a setting of its own, ModelConfig::settings).
#pragma once

// clang-format off
#define VK_MODEL_KINDS(X) \
  X(ae, make_autoencoder, autoencoder, false, false, 20, "400", "relu", "", "autoencoder: ||x - D(E(x))||^2") \
  X(rae, make_regularized_autoencoder, autoencoder, false, false, 20, "400", "relu", "--lambda", "regularized autoencoder: ||x - D(E(x))||^2 + lambda ||E(x)||^2") \
  X(vae, make_vae, latent, false, false, 20, "400", "relu", "--posterior=gaussian --flow-steps=4 --iaf-hidden=256", "VAE: q(z|x) a diagonal Gaussian (--posterior iaf: pushed through --flow-steps IAF steps), p(z) = N(0, I)") \
  X(cvae, make_vae, latent, true, false, 20, "400", "relu", "--condition --embedding", "conditional VAE of p(x|y) (--condition says where y goes)") \
  X(hvae, make_hvae, latent, false, true, 100, "100,100", "tanh", "--latents --latent2 --hidden2", "hierarchical VAE: p(z) is a VAE over z2, ... (--latents 100,50,20: three stochastic layers)") \
  X(mog, make_mog, latent, false, false, 20, "400", "relu", "--components=10", "VAE with a learned mixture of Gaussians as p(z)") \
  X(flow, make_flow, exact, false, false, 784, "1024", "relu", "--flow-steps=8", "normalizing flow: exact log p(x) of dequantized pixels (logit, then actnorm, LU linear and affine coupling steps)") \
  X(diffusion, make_diffusion, exact, false, false, 784, "32", "swish", "--diffusion-steps=1000 --beta-schedule=linear --bound-images=100 --sample-steps=0", "denoising diffusion model (Ho et al. 2020): a U-Net predicts the noise; trains on the simple loss, reports the variational bound in bits/dim over --bound-images test images; samples on all steps or on --sample-steps of them") \
  // (the end of the list: every line above ends with a backslash, so a new kind is one new line)
// clang-format on
