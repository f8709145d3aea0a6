import Testing
@testable import SmallMindCLI

struct TokenIDFormatTests {
    @Test func printsIdsLikeLlamaTokenize() {
        #expect(Format.tokenIDs([1, 15043, 3186]) == "[1, 15043, 3186]")
        #expect(Format.tokenIDs([]) == "[]")
        #expect(Format.tokenIDs([7]) == "[7]")
    }
}
