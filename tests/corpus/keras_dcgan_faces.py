# cnncalc: --model generator
# style: keras.io-like DCGAN on faces (discriminator and generator Sequentials with keras.Input, LeakyReLU(negative_slope=0.2), Dense -> Reshape -> Conv2DTranspose, a training wrapper subclass)
# truth: model=generator
import keras
from keras import layers
from keras import ops

latent_dim = 128

discriminator = keras.Sequential(
    [
        keras.Input(shape=(64, 64, 3)),
        layers.Conv2D(64, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Flatten(),
        layers.Dropout(0.2),
        layers.Dense(1, activation="sigmoid"),
    ],
    name="discriminator",
)
discriminator.summary()

generator = keras.Sequential(
    [
        keras.Input(shape=(latent_dim,)),
        layers.Dense(8 * 8 * 128),
        layers.Reshape((8, 8, 128)),
        layers.Conv2DTranspose(64, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(128, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2DTranspose(256, kernel_size=4, strides=2, padding="same"),
        layers.LeakyReLU(negative_slope=0.2),
        layers.Conv2D(3, kernel_size=5, padding="same", activation="sigmoid"),
    ],
    name="generator",
)
generator.summary()


class AdversarialPair(keras.Model):
    """Trains both networks; only a wrapper, the two Sequentials above are the models."""

    def __init__(self, critic, maker, z_dim):
        super().__init__()
        self.critic = critic
        self.maker = maker
        self.z_dim = z_dim
        self.rng = keras.random.SeedGenerator(42)

    def compile(self, critic_opt, maker_opt, loss):
        super().compile()
        self.critic_opt, self.maker_opt, self.loss = critic_opt, maker_opt, loss

    def train_step(self, batch):
        n = ops.shape(batch)[0]
        z = keras.random.normal((n, self.z_dim), seed=self.rng)
        fakes = self.maker(z)
        return {"critic_loss": 0.0, "maker_loss": 0.0}


pair = AdversarialPair(critic=discriminator, maker=generator, z_dim=latent_dim)
pair.compile(critic_opt=keras.optimizers.Adam(1e-4), maker_opt=keras.optimizers.Adam(1e-4),
             loss=keras.losses.BinaryCrossentropy())
