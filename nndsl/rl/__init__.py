"""Reinforcement learning: environments written in NumPy (CartPole, a grid world), any
Gymnasium environment by name, and the algorithms that train a model in them (DQN,
REINFORCE), written against the engine interface so both backends run them."""
