/// Name of the instruction set this module is compiled for.
public let kernelISAName = "avx512"
