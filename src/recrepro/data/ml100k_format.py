"""The raw MovieLens 100K file format, shared by its parser (:mod:`recrepro.data.movielens`) and
its generator (:mod:`recrepro.data.synthetic`), which imports nothing from the parser."""

#: The genre flag columns of ``u.item``, in file order.
ML100K_GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
