print("vseg")
