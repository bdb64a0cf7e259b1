"""RL with easy-trained evaluators (stage 07): ReST-EM, iterative DPO and PPO with the paper's dense PRM rewards.

- ``rewards``: the reward rules, pure functions of numbers: the PRM step shaping ("min" scheme), the terminal
  table (final answer on easy questions, a constant on hard ones, format penalties), the KL penalty, whitening, GAE;
- ``rollout``: sampling with the token ids kept, log-probs at a temperature, step positions of a rollout;
- ``ppo``: the PPO loop on e2h's models, sampler and scorer;
- ``preference`` / ``dpo``: the DPO losses (a training objective of ``e2h.training.loop``) and the pair rule;
- ``rest``: ReST-EM's acceptance filters and caps;
- ``checkpoint``: the best checkpoint by greedy accuracy on the easy validation problems.

Nothing here knows the run folder; ``e2h.stages.s07_rl`` wires these to it.
"""
