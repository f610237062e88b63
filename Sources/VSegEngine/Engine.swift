import VSegCore
