//! Issue 18 as it is checked: a schema of our own (three levels of foreign keys, a
//! self-reference, a cycle, names with spaces, backticks, unicode and reserved words, a
//! generated column, ENUM and SET, latin1 and utf8mb4 columns, a BEFORE INSERT trigger
//! and a view) copied whole with its objects has the source's definitions and rows,
//! and `ferry verify` of that same job finds them equal (the trigger the run made is no
//! problem to a pass that writes nothing); a second run drops that trigger before its
//! data and makes it again after; a masked sample of it masks accented letters.

use crate::support::*;
use mysql::prelude::Queryable;

fn zoo(test: &str) -> Dbs {
    let mut dbs = Dbs::new(test);
    dbs.src(
        "CREATE TABLE `régions` (`rid` INT PRIMARY KEY, `nom` VARCHAR(50) CHARACTER SET latin1 \
         NOT NULL, `parent rid` INT NULL, CONSTRAINT fk_reg_parent FOREIGN KEY (`parent rid`) \
         REFERENCES `régions` (`rid`))",
    )
    .src(
        "CREATE TABLE `order` (`id` BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, `select` \
         VARCHAR(30) NOT NULL, `rid` INT NOT NULL, `kind` ENUM('small','big','häßlich') NOT \
         NULL DEFAULT 'small', `flags` SET('a','b','c') NULL, `price` DECIMAL(12,3) NOT NULL, \
         `qty` INT NOT NULL, `total` DECIMAL(20,3) AS (`price` * `qty`) STORED, `note` TEXT \
         CHARACTER SET utf8mb4 NULL, `old``name` VARCHAR(20) CHARACTER SET latin1 NULL, \
         CONSTRAINT fk_order_reg FOREIGN KEY (`rid`) REFERENCES `régions` (`rid`))",
    )
    .src(
        "CREATE TABLE `line items` (`order id` BIGINT UNSIGNED NOT NULL, `n` SMALLINT NOT \
         NULL, `sku` VARCHAR(20) NOT NULL, PRIMARY KEY (`order id`, `n`), CONSTRAINT \
         fk_li_order FOREIGN KEY (`order id`) REFERENCES `order` (`id`))",
    )
    .src(
        "CREATE TABLE `返品` (`id` INT PRIMARY KEY, `order id` BIGINT UNSIGNED NOT NULL, `n` \
         SMALLINT NOT NULL, `reason` VARCHAR(200) NULL, CONSTRAINT fk_ret_li FOREIGN KEY \
         (`order id`, `n`) REFERENCES `line items` (`order id`, `n`))",
    )
    .src("CREATE TABLE keepers (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, cage_id INT NULL)")
    .src(
        "CREATE TABLE cages (id INT PRIMARY KEY, keeper_id INT NOT NULL, CONSTRAINT \
         fk_cage_keeper FOREIGN KEY (keeper_id) REFERENCES keepers (id))",
    )
    .src(
        "ALTER TABLE keepers ADD CONSTRAINT fk_keeper_cage FOREIGN KEY (cage_id) REFERENCES \
         cages (id)",
    )
    .src("SET FOREIGN_KEY_CHECKS = 0")
    .src("INSERT INTO `régions` VALUES (1, 'Île', NULL), (2, 'Düsseldorf', 1), (3, 'Ærø', 2)")
    .src(
        "INSERT INTO `order` (`id`, `select`, `rid`, `kind`, `flags`, `price`, `qty`, `note`, \
         `old``name`) VALUES (1, 's1', 3, 'häßlich', 'a,c', 9.5, 2, 'tab\\there 🦊', 'çé'), \
         (2, 's2', 2, 'big', NULL, 1.25, 4, NULL, 'Ærø'), (3, 's3', 1, 'small', '', 0, 1, \
         '日本語', NULL)",
    )
    .src("INSERT INTO `line items` VALUES (1, 1, 'A'), (1, 2, 'B'), (2, 1, 'C'), (3, 1, 'D')")
    .src("INSERT INTO `返品` VALUES (10, 1, 2, 'broken'), (11, 3, 1, NULL)")
    .src("INSERT INTO keepers VALUES (1, 'Müller', 2), (2, 'Иван', 1), (3, 'Ann', NULL)")
    .src("INSERT INTO cages VALUES (1, 2), (2, 1), (3, 3)")
    .src("SET FOREIGN_KEY_CHECKS = 1")
    .src(
        "CREATE TRIGGER `返品 audit` BEFORE INSERT ON `返品` FOR EACH ROW SET NEW.reason = \
         COALESCE(NEW.reason, 'none')",
    )
    .src("CREATE VIEW `big orders` AS SELECT id, `select`, total FROM `order` WHERE total >= 5");
    dbs
}

const TABLES: [&str; 6] = ["régions", "order", "line items", "返品", "keepers", "cages"];

fn definition(conn: &mut mysql::Conn, table: &str) -> String {
    let (_, sql): (String, String) = conn
        .query_first(format!("SHOW CREATE TABLE `{table}`"))
        .unwrap()
        .unwrap();
    // The next AUTO_INCREMENT value follows the rows, not the definition.
    regex::Regex::new(r" AUTO_INCREMENT=\d+")
        .unwrap()
        .replace(&sql, "")
        .into_owned()
}

#[test]
fn our_own_schema_copied_whole_then_verified_then_sampled_with_masks() {
    let mut dbs = zoo("whole_db_session");
    let job = dbs.job(
        "clone.lua",
        "copy { tables = '*', create = true, objects = true }\n",
    );
    dbs.run(&job, &[]).ok();
    for t in TABLES {
        assert_eq!(
            definition(&mut dbs.dst, t),
            definition(&mut dbs.src, t),
            "{t}"
        );
        let order = if t == "line items" {
            "`order id`, n"
        } else {
            "1"
        };
        assert_eq!(
            dbs.dump_dst(&format!("`{t}`"), order),
            dbs.dump_src(&format!("`{t}`"), order),
            "{t}"
        );
    }
    // Every foreign key resolves (the keys were added after the data, so the server
    // checked them), and the trigger and view exist.
    let triggers: Vec<String> = dbs.dst.query("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()").unwrap();
    assert_eq!(triggers, vec!["返品 audit".to_string()]);
    let big: Vec<u64> = dbs
        .dst
        .query("SELECT id FROM `big orders` ORDER BY id")
        .unwrap();
    assert_eq!(big, vec![1, 2]);
    // Verify of the same job: equal, though the target now has the BEFORE trigger.
    let verified = dbs.verify(&job, &[]).ok();
    assert!(
        verified.stdout.contains("verify: 6 copies, all equal"),
        "{}",
        verified.describe()
    );

    // A second run of the job: the trigger the first made is dropped before the data
    // and made again after it, not refused as a target trigger.
    let again = dbs.run(&job, &[]).ok();
    assert!(
        again.stderr.contains(
            "TRIGGER 返品 audit: dropped from the target for the copy; made again after the data"
        ),
        "{}",
        again.describe()
    );
    let triggers: Vec<String> = dbs.dst.query("SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()").unwrap();
    assert_eq!(triggers, vec!["返品 audit".to_string()]);
    assert_eq!(dbs.dump_dst("`返品`", "1"), dbs.dump_src("`返品`", "1"));

    // A masked sample into an empty database: accented letters are masked too.
    dbs.dst.query_drop("SET FOREIGN_KEY_CHECKS = 0").unwrap();
    for t in TABLES {
        dbs.dst(&format!("DROP TABLE `{t}`"));
    }
    dbs.dst("DROP VIEW `big orders`");
    dbs.dst.query_drop("SET FOREIGN_KEY_CHECKS = 1").unwrap();
    let sample = dbs.job(
        "subset.lua",
        "job { mask_salt = 'a salt for the test' }\n\
         sample { from = 'cages', where = 'id <= 2', create = true,\n\
           tables = { keepers = { mask = { name = 'name' } } } }\n\
         sample { from = '返品', where = 'id = 10', create = true,\n\
           tables = { ['order'] = { mask = { ['old`name'] = 'name' } } } }\n",
    );
    dbs.run(&sample, &[]).ok();
    let names: Vec<(u32, String)> = dbs
        .dst
        .query("SELECT id, name FROM keepers ORDER BY id")
        .unwrap();
    assert_eq!(
        names.iter().map(|n| n.0).collect::<Vec<_>>(),
        vec![1, 2],
        "{names:?}"
    );
    for ((_, masked), plain) in names.iter().zip(["Müller", "Иван"]) {
        assert_eq!(masked.chars().count(), plain.chars().count(), "{masked}");
        for (m, p) in masked
            .chars()
            .zip(plain.chars())
            .filter(|(_, p)| !p.is_ascii())
        {
            assert_ne!(m, p, "{plain} masked as {masked} keeps {p}");
        }
    }
    let old: Vec<Option<String>> = dbs.dst.query("SELECT `old``name` FROM `order`").unwrap();
    assert_eq!(old.len(), 1);
    let masked = old[0].clone().unwrap();
    assert!(
        !masked.contains('ç') && masked.chars().count() == 2,
        "{masked}"
    );
    // The sample's rows hold together: the return, its line item, its order, the
    // order's région and that région's parents.
    let regions: Vec<u32> = dbs
        .dst
        .query("SELECT rid FROM `régions` ORDER BY rid")
        .unwrap();
    assert_eq!(regions, vec![1, 2, 3]);
}
