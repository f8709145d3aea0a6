import Testing
@testable import SmallMindCLI

struct FormatTests {
    @Test func ratesAndDurations() {
        #expect(Format.rate(3.14159) == "3.14")
        #expect(Format.rate(123.45) == "123.5")
        #expect(Format.seconds(0.25) == "250 ms")
        #expect(Format.seconds(2.5) == "2.50 s")
    }

    @Test func countsAndBytes() {
        #expect(Format.count(512) == "512")
        #expect(Format.count(260_000) == "260.0 K")
        #expect(Format.count(1_836_300) == "1.84 M")
        #expect(Format.bytes(100) == "100 bytes")
        #expect(Format.bytes(3 * 1024 * 1024 / 2) == "1.5 MiB")
        #expect(Format.number(10000) == "10000")
        #expect(Format.number(0.5) == "0.5")
    }

    @Test func utilisationAboveAHundredPercentSaysWhy() {
        #expect(Format.utilisation(0.86) == "utilisation 86.0 %")
        #expect(Format.utilisation(11.1) == "utilisation 1110.0 % (shared blocks counted once per sequence)")
    }

    @Test func tablesAlignTheirValues() {
        #expect(Table.render([("A", "1"), ("Long", "2")]) == "A:     1\nLong:  2\n")
    }
}
