//! The subcommands besides `serve`: migrate, seed, user add, token create.

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

/// `livecart seed`
pub async fn seed(database_url: &str) -> anyhow::Result<()> {
    let db = open(database_url).await?;
    if seed::seed_if_empty(&db).await.context("seeding the demo catalog")? {
        println!("demo catalog loaded");
    } else {
        println!("the catalog already has categories; nothing seeded (seeding only fills an empty shop)");
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
    let Some(id) = db.create_user(&username, &hash, staff).await? else {
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
