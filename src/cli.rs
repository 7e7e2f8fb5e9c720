//! The subcommands besides `serve`: migrate, seed, user add, token create,
//! backup and restore.

use std::io::{BufRead as _, IsTerminal as _};

use anyhow::{Context as _, bail};
use app::server::passwords::{Passwords, check_password, check_username};
use app::server::{Db, seed, tokens};

/// Connect and bring the schema up to date: every command starts here.
async fn open(database_url: &str) -> anyhow::Result<Db> {
    let db = Db::connect(database_url).await?;
    db.migrate().await?;
    Ok(db)
}

/// `livecart migrate`
pub async fn migrate(database_url: &str) -> anyhow::Result<()> {
    let db = open(database_url).await?;
    println!("migrations applied ({})", db.backend_name());
    Ok(())
}

/// `livecart seed [--products N]`
pub async fn seed(database_url: &str, products: Option<u64>) -> anyhow::Result<()> {
    let db = open(database_url).await?;
    if seed::seed_if_empty(&db).await.context("seeding the demo catalog")? {
        println!("demo catalog loaded");
    } else if products.is_none() {
        println!("the catalog already has categories; nothing seeded (seeding only fills an empty shop)");
    }
    if let Some(count) = products {
        let started = std::time::Instant::now();
        let added = app::server::catalog_gen::add_products(&db, count, 5_000, |done| {
            eprint!("\r\x1b[2Kadded {done} of {count} products");
        })
        .await?;
        eprintln!();
        db.optimize().await.context("refreshing the query planner's statistics")?;
        println!("added {added} products in {:.1} s", started.elapsed().as_secs_f64());
    }
    Ok(())
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_string());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password on; pipe it in and pass --password-stdin");
    }
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    let second = rpassword::prompt_password("Password again: ").context("reading the password")?;
    if first != second {
        bail!("the two passwords differ; nothing was created");
    }
    Ok(first)
}

/// `livecart user add`
pub async fn add_user(database_url: &str, username: &str, staff: bool, password_stdin: bool) -> anyhow::Result<()> {
    let username = check_username(username).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = read_password(password_stdin)?;
    check_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = open(database_url).await?;
    let hash = Passwords::new(1)?.hash(password).await?;
    let app::server::db::NewUser::Created(id) = db.create_user(&username, &hash, staff).await? else {
        bail!("the username '{username}' is taken; pick another");
    };
    let role = if staff { "staff account" } else { "account" };
    println!("created {role} '{username}' (id {id})");
    if staff {
        println!("sign in at /login, then open /admin");
    }
    Ok(())
}

/// `livecart token create`
pub async fn create_token(database_url: &str, name: &str, scope: &str) -> anyhow::Result<()> {
    let scope = tokens::Scope::parse(scope).map_err(|e| anyhow::anyhow!("{e}"))?;
    let db = open(database_url).await?;
    let (id, token) = tokens::create(&db, name, scope, None).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!("created {} token {id} '{}'; it is shown only this once:", scope.as_str(), name.trim());
    println!("{token}");
    Ok(())
}

/// `livecart backup FILE`
pub async fn backup(database_url: &str, file: &std::path::Path) -> anyhow::Result<()> {
    if Db::sqlite_file(database_url)?.is_none() {
        println!("PostgreSQL is backed up with its own tools, consistent while the shop serves:");
        println!("  pg_dump --format=custom --file '{}' '{database_url}'", file.display());
        println!("and restored into an empty database with:");
        println!("  pg_restore --no-owner --dbname 'postgres://…/new_database' '{}'", file.display());
        return Ok(());
    }
    if file.exists() {
        bail!("{} already exists; pick a new file name (a backup never overwrites)", file.display());
    }
    let db = Db::connect(database_url).await?;
    let bytes = db.backup_into(file).await?;
    db.close().await;
    println!("backed up to {} ({} KiB)", file.display(), bytes / 1024);
    Ok(())
}

/// `livecart restore FILE`
pub async fn restore(database_url: &str, file: &std::path::Path, force: bool) -> anyhow::Result<()> {
    let Some(target) = Db::sqlite_file(database_url)? else {
        println!("Restore a PostgreSQL backup into an empty database, then point DATABASE_URL at it:");
        println!("  createdb livecart_restored && pg_restore --no-owner --dbname '…/livecart_restored' '{}'", file.display());
        return Ok(());
    };
    if !file.is_file() {
        bail!("{} is not a file", file.display());
    }
    if target.exists() && !force {
        bail!("{} already holds a database; stop the shop and pass --force to replace it", target.display());
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Copy beside the target and check the copy: the backup itself is never
    // changed, and a copy that is not a sound database never becomes the shop's.
    let mut staged = target.clone().into_os_string();
    staged.push(".restoring");
    let staged = std::path::PathBuf::from(staged);
    std::fs::copy(file, &staged).with_context(|| format!("copying {} to {}", file.display(), staged.display()))?;
    let check = async {
        let db = Db::connect(&format!("sqlite://{}", staged.display())).await.context("opening the backup")?;
        let sound = db.integrity_check().await.context("checking the backup")?;
        let ours = db.has_migrations().await?;
        // A backup from an older version is brought up to date here.
        let migrated = if sound && ours { db.migrate().await } else { Ok(()) };
        db.close().await;
        anyhow::ensure!(sound, "{} fails SQLite's integrity check; nothing was restored", file.display());
        anyhow::ensure!(ours, "{} is not a livecart database; nothing was restored", file.display());
        migrated.context("bringing the backup up to date")
    };
    if let Err(err) = check.await {
        remove_with_sidecars(&staged);
        return Err(err);
    }
    // Stale write-ahead files of the old database would be replayed into the new one.
    remove_with_sidecars(&target);
    for suffix in ["-wal", "-shm"] {
        let (mut from, mut to) = (staged.clone().into_os_string(), target.clone().into_os_string());
        from.push(suffix);
        to.push(suffix);
        let _ = std::fs::rename(from, to);
    }
    std::fs::rename(&staged, &target).with_context(|| format!("moving the restored database to {}", target.display()))?;
    let db = open(database_url).await.context("opening the restored database")?;
    db.close().await;
    println!("restored {} to {}; start the shop", file.display(), target.display());
    Ok(())
}

/// Remove a SQLite database file and its -wal and -shm files, if there.
fn remove_with_sidecars(path: &std::path::Path) {
    let _ = std::fs::remove_file(path);
    for suffix in ["-wal", "-shm"] {
        let mut side = path.to_path_buf().into_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
}
