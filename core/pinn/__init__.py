"""Physics-informed networks: sound bounds on a tanh MLP's derivatives and PDE residuals
over the whole input domain (∂-CROWN, Eiras et al.), PINN training, and their certificates.
See docs/pinn.md."""
