// Compiles the precompiled header <torch/torch.h> that every other target reuses.
