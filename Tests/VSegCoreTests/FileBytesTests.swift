import Foundation
import XCTest
import VSegCore

final class FileBytesTests: XCTestCase {
    func testReadsWholeFilesAndRefusesOversizedOnes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vseg-filebytes-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("a.txt").path
        let bytes = (0 ..< 200_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try FileBytes.read(path, limit: 200_000), bytes, "more than one 64 KiB chunk, exactly at the limit")
        XCTAssertThrowsError(try FileBytes.read(path, limit: 199_999)) { e in
            XCTAssertEqual(e as? CoreError, .unreadableFile(path: path, reason: "larger than 199999 bytes"))
        }
        XCTAssertThrowsError(try FileBytes.read(dir.appendingPathComponent("missing").path, limit: 10)) { e in
            guard case .unreadableFile(_, let reason)? = e as? CoreError else { return XCTFail("\(e)") }
            XCTAssertTrue(reason.contains("No such file"), reason)
        }
        let empty = dir.appendingPathComponent("empty").path
        XCTAssertTrue(FileManager.default.createFile(atPath: empty, contents: Data()))
        XCTAssertEqual(try FileBytes.read(empty, limit: 0), [])
    }
}
