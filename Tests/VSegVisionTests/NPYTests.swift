import Foundation
import XCTest
import VSegCore

final class NPYTests: XCTestCase {
    func testRoundTripEveryDType() throws {
        let arrays: [NPYArray] = [
            NPYArray(shape: [2, 3], floats: [0, -1.5, 2, .pi, 1e-30, 65504]),
            NPYArray(shape: [3], storage: .int64([Int64.min, 0, Int64.max])),
            NPYArray(shape: [1, 2, 2], storage: .int32([1, -2, 3, Int32.max])),
            NPYArray(shape: [4], storage: .uint8([0, 1, 254, 255])),
            NPYArray(shape: [], floats: [42]),
            NPYArray(shape: [0, 5], floats: []),
        ]
        for a in arrays {
            let bytes = NPY.encode(a)
            let headerEnd = 10 + Int(bytes[8]) + Int(bytes[9]) * 256
            XCTAssertEqual(headerEnd % 64, 0, "header must pad the data start to 64 bytes")
            XCTAssertEqual(bytes[headerEnd - 1], 0x0A)
            XCTAssertEqual(try NPY.decode(bytes), a)
        }
    }

    func testFileRoundTripAndFloat64Narrowing() throws {
        let path = "/tmp/vseg-npy-test-\(getpid()).npy"
        defer { unlink(path) }
        try NPY.write(NPYArray(shape: [2, 2], floats: [1, 2, 3, 4]), to: path)
        XCTAssertEqual(try NPY.read(path: path).floats, [1, 2, 3, 4])

        // A float64 file as numpy writes it: '<f8', fortran_order False, shape (3,)
        var h = Array("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }".utf8)
        while (10 + h.count + 1) % 64 != 0 { h.append(0x20) }
        h.append(0x0A)
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(h.count), 0] + h
        for d in [0.5, -2.25, 1e10] { withUnsafeBytes(of: d.bitPattern.littleEndian) { bytes += $0 } }
        let a = try NPY.decode(bytes)
        XCTAssertEqual(a.shape, [3])
        XCTAssertEqual(a.floats, [0.5, -2.25, 1e10])
    }

    func testVersion2Header() throws {
        var h = Array("{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }".utf8)
        while (12 + h.count + 1) % 64 != 0 { h.append(0x20) }
        h.append(0x0A)
        var bytes: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, UInt8(h.count), 0, 0, 0] + h
        bytes += [7, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF]
        XCTAssertEqual(try NPY.decode(bytes).storage, .int32([7, -1]))
    }

    /// Builds a v1 file around `header` and `data` without any checks.
    func file(_ header: String, data: [UInt8] = [], major: UInt8 = 1) -> [UInt8] {
        let h = Array(header.utf8) + [0x0A]
        return [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, major, 0, UInt8(h.count & 0xFF), UInt8(h.count >> 8)] + h + data
    }

    func assertRejects(_ bytes: [UInt8], _ fragment: String, file f: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try NPY.decode(bytes, path: "x.npy"), file: f, line: line) { e in
            let text = "\(e)"
            XCTAssertTrue(text.contains(fragment) && text.hasPrefix("x.npy:"), "message: \(text)", file: f, line: line)
            XCTAssertTrue(e is NPYError, file: f, line: line)
        }
    }

    func testHostileHeaders() {
        assertRejects([0x93, 0x4E, 0x55], "magic")
        assertRejects(Array("PK\u{3}\u{4}not numpy at all".utf8), "magic")
        assertRejects(file("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", data: [UInt8](repeating: 0, count: 8)), "fortran_order")
        assertRejects(file("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0]), "dtype '>f4'")
        assertRejects(file("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", data: [0]), "dtype")
        // 2^40 elements: refused from the header alone, no allocation.
        assertRejects(file("{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }"), "too large")
        assertRejects(file("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }"), "dimension")
        assertRejects(file("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }"), "dimension")
        // Data shorter / longer than the shape says.
        assertRejects(file("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", data: [0, 0, 0, 0]), "needs 16")
        assertRejects(file("{'descr': '<u1', 'fortran_order': False, 'shape': (1,), }", data: [1, 2]), "needs 1")
        // Header length pointing past the end of the file.
        var truncated = file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }")
        truncated[8] = 0xFF; truncated[9] = 0x7F
        assertRejects(truncated, "past the end")
        // Absurd v2 header length.
        assertRejects([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 2, 0, 0xFF, 0xFF, 0xFF, 0x7F] + [UInt8](repeating: 0x20, count: 64), "exceeds")
        assertRejects(file("{'descr': '<f4', 'shape': (1,), }", data: [0, 0, 0, 0]), "needs descr")
        assertRejects(file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'evil': 1}", data: [0, 0, 0, 0]), "unexpected key")
        assertRejects(file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,"), "expected a dimension")
        assertRejects(file("{'descr': '<f4", data: []), "unterminated")
        assertRejects(file("{}", major: 9), "version 9")
    }

    func testRandomMutationsNeverCrash() {
        var rng = SeededRandom(seed: 7)
        let good = NPY.encode(NPYArray(shape: [2, 3, 4], floats: (0..<24).map(Float.init)))
        var rejected = 0
        for _ in 0..<3000 {
            var b = good
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                b[Int.random(in: 0..<b.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            if Bool.random(using: &rng) { b = Array(b.prefix(Int.random(in: 0..<b.count, using: &rng))) }
            do { _ = try NPY.decode(b) } catch { rejected += 1; XCTAssertTrue(error is NPYError) }
        }
        XCTAssertGreaterThan(rejected, 1000)
    }

    func testMissingFileMessage() {
        XCTAssertThrowsError(try NPY.read(path: "/nonexistent/in.npy")) { e in
            XCTAssertTrue("\(e)".hasPrefix("/nonexistent/in.npy: cannot open"), "\(e)")
        }
    }
}
