// Folder names and their Maildir++ directories (RFC 3501 §5.1.3 modified UTF-7, '.'
// escaped), name checks, Maildir info flags.
#include "store/index/folder_layout.h"

#include <gtest/gtest.h>

namespace mail::store::index {
namespace {

TEST(FolderLayout, InboxIsCaseInsensitiveAndTheMaildirItself) {
  EXPECT_TRUE(is_inbox_name("inbox"));
  EXPECT_TRUE(is_inbox_name("InBoX"));
  EXPECT_FALSE(is_inbox_name("INBOX/x"));
  EXPECT_EQ(normalize_folder_name("inbox"), "INBOX");
  EXPECT_EQ(normalize_folder_name("Inbox/Sub"), "INBOX/Sub");
  EXPECT_EQ(normalize_folder_name("Inboxes"), "Inboxes");
  EXPECT_EQ(folder_dir("INBOX"), "");
  EXPECT_EQ(folder_dir("INBOX/Sub"), ".INBOX.Sub");
}

TEST(FolderLayout, Rfc3501Sec5_1_3NamesAreModifiedUtf7WithDotsEscaped) {
  EXPECT_EQ(folder_dir("Sent"), ".Sent");
  EXPECT_EQ(folder_dir("A/B"), ".A.B");
  EXPECT_EQ(folder_dir("a.b"), ".a&AC4-b");
  EXPECT_EQ(folder_dir("R&D"), ".R&-D");
  // RFC 3501 §5.1.3's example: "~peter/mail/台北/日本語".
  EXPECT_EQ(folder_dir("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e"),
            ".~peter.mail.&U,BTFw-.&ZeVnLIqe-");
  for (std::string name : {"Sent", "A/B", "a.b", "R&D", "x/\xc3\xa9t\xc3\xa9/y.z", "\xf0\x9f\x98\x80"}) {
    auto back = folder_name_of_dir(folder_dir(name));
    ASSERT_TRUE(back.has_value()) << name;
    EXPECT_EQ(*back, name);
  }
}

TEST(FolderLayout, DirectoriesThatAreNoFoldersAreIgnored) {
  EXPECT_FALSE(folder_name_of_dir("new").has_value());
  EXPECT_FALSE(folder_name_of_dir(".").has_value());
  EXPECT_FALSE(folder_name_of_dir("..").has_value());
  EXPECT_FALSE(folder_name_of_dir(".a..b").has_value());
  EXPECT_FALSE(folder_name_of_dir(".a&Zz").has_value());    // unterminated
  EXPECT_FALSE(folder_name_of_dir(".&2D0-").has_value());   // unpaired surrogate
}

TEST(FolderLayout, NameChecks) {
  EXPECT_TRUE(check_folder_name("A/B c").ok());
  EXPECT_EQ(check_folder_name("").code(), Errc::invalid);
  EXPECT_EQ(check_folder_name("/A").code(), Errc::invalid);
  EXPECT_EQ(check_folder_name("A/").code(), Errc::invalid);
  EXPECT_EQ(check_folder_name("A//B").code(), Errc::invalid);
  EXPECT_EQ(check_folder_name("A\tB").code(), Errc::invalid);
  EXPECT_EQ(check_folder_name("A\x7f").code(), Errc::invalid);
  EXPECT_EQ(check_folder_name("\xc3").code(), Errc::invalid);
  // RFC 9051 §5.1: no C1 controls (U+0085 here), no U+2028/U+2029; other UTF-8 is fine.
  EXPECT_EQ(check_folder_name("a\xc2\x85" "b").code(), Errc::invalid);
  EXPECT_EQ(check_folder_name("a\xe2\x80\xa8").code(), Errc::invalid);
  EXPECT_TRUE(check_folder_name("Entw\xc3\xbcrfe").ok());
  EXPECT_EQ(check_folder_name(std::string(1001, 'a')).code(), Errc::invalid);
  EXPECT_TRUE(check_folder_name(std::string(1000, 'a')).ok());
  EXPECT_EQ(parent_folder_name("A/B/C"), std::optional<std::string>("A/B"));
  EXPECT_FALSE(parent_folder_name("A").has_value());
}

TEST(FolderLayout, FilesAndMaildirInfo) {
  EXPECT_EQ(folder_file("", MaildirFolder::new_mail, "1.M2.h"), "new/1.M2.h");
  EXPECT_EQ(folder_file(".Sent", MaildirFolder::cur, "1.M2.h:2,S"), ".Sent/cur/1.M2.h:2,S");
  EXPECT_EQ(maildir_base_name("1.M2.h,S=5:2,RS"), "1.M2.h,S=5");
  EXPECT_EQ(maildir_base_name("1.M2.h"), "1.M2.h");
  EXPECT_EQ(maildir_info_flags("x:2,DFPRST"), flag_draft | flag_flagged | flag_answered | flag_seen | flag_deleted);
  EXPECT_EQ(maildir_info_flags("x:2,"), 0);
  EXPECT_EQ(maildir_info_flags("x"), 0);
}

}  // namespace
}  // namespace mail::store::index
